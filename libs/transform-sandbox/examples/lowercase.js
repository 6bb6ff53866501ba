import { slug } from 'text-utils';

// Lower-cases track event names, adds a slug, drops internal test events.
export function transformEvent(event, metadata) {
  if (event.properties && event.properties.internal === true) return null;
  if (event.type === 'track') {
    event.event = event.event.toLowerCase();
    event.properties = { ...event.properties, event_slug: slug(event.event), source: metadata.sourceId };
  }
  console.log('transformed', event.messageId);
  return event;
}

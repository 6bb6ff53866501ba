import { createHmac, timingSafeEqual } from 'node:crypto';
import { startStandIn, type RecordedRequest, type StandIn, type StandInOptions } from '../server';

export interface WebhookReceiverOptions extends StandInOptions {
  /** When set, requests must carry a valid `sha256=<hex>` HMAC of the body (GET: of the raw query string). */
  secret?: string;
  signatureHeader?: string;
}

export interface WebhookReceiver extends StandIn {
  /** Accepted requests whose signature checked out (all accepted ones when a secret is set). */
  verified: RecordedRequest[];
}

export function verifySignature(secret: string, payload: string, header: string | undefined): boolean {
  if (!header || !header.startsWith('sha256=')) return false;
  const expected = Buffer.from(createHmac('sha256', secret).update(payload, 'utf8').digest('hex'), 'utf8');
  const got = Buffer.from(header.slice(7), 'utf8');
  return got.length === expected.length && timingSafeEqual(got, expected);
}

/** A generic webhook endpoint: any method and path; 401 on a missing or wrong signature when a secret is set. */
export async function startWebhookReceiver(opts: WebhookReceiverOptions = {}): Promise<WebhookReceiver> {
  const verified: RecordedRequest[] = [];
  const header = (opts.signatureHeader ?? 'x-sluice-signature').toLowerCase();
  const standIn = await startStandIn(
    {
      name: 'webhook',
      errorBody: (status) => ({ error: `injected failure ${status}` }),
      reset: () => {
        verified.length = 0;
      },
      handle(req) {
        if (opts.secret) {
          const payload = req.method === 'GET' ? req.rawQuery : req.body;
          if (!verifySignature(opts.secret, payload, req.headers[header])) {
            return { status: 401, body: { error: 'invalid signature' }, accepted: false };
          }
          verified.push(req);
        }
        return { status: 200, body: { ok: true }, accepted: true };
      },
    },
    opts,
  );
  return Object.assign(standIn, { verified });
}

/** Same as startWebhookReceiver, under the start<Vendor>StandIn naming. */
export const startWebhookStandIn = startWebhookReceiver;

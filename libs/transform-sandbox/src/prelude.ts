/**
 * Code evaluated first in every sandbox context. It installs `console` (lines
 * collected for the host, bounded), `require` (transformation libraries only),
 * and a private `__sluice` object the host uses to load the user code and to
 * run batches; the host deletes `__sluice` from the global object once it has
 * taken handles to the functions it needs.
 *
 * Results cross the boundary as one JSON string per batch: per event
 * `{"k":"ok","e":[...]}`, `{"k":"drop"}` or `{"k":"err","m":"..."}`, or for
 * transformBatch `{"batch": <events> | null}`.
 */
export function prelude(maxLogLines: number): string {
  return `(function () {
  'use strict';
  var G = globalThis;
  var has = Object.prototype.hasOwnProperty;
  var logs = [];
  var MAX_LOGS = ${Math.max(0, Math.floor(maxLogLines))};
  function fmt(a) {
    if (typeof a === 'string') return a;
    try { var s = JSON.stringify(a); return s === undefined ? String(a) : s; } catch (e) { return String(a); }
  }
  function logger(level) {
    return function () {
      if (logs.length >= MAX_LOGS) return;
      var parts = [];
      for (var i = 0; i < arguments.length; i++) parts.push(fmt(arguments[i]));
      logs.push(level + ': ' + parts.join(' ').slice(0, 2000));
    };
  }
  var consoleObj = { log: logger('log'), info: logger('info'), warn: logger('warn'), error: logger('error'), debug: logger('debug') };

  var cjsSources = {};
  var cjsCache = {};
  var esm = {};
  function requireLib(name) {
    name = String(name);
    if (has.call(esm, name)) return esm[name];
    if (has.call(cjsCache, name)) return cjsCache[name].exports;
    if (!has.call(cjsSources, name)) {
      throw new Error("Cannot find module '" + name + "': only the transformation's libraries can be loaded");
    }
    var module = { exports: {} };
    cjsCache[name] = module;
    var fn = (0, eval)('(function (module, exports, require) {' + cjsSources[name] + '\\n})');
    fn(module, module.exports, requireLib);
    return module.exports;
  }

  var user = null;
  var progress = [];

  function isFatal(e) {
    return e instanceof InternalError && /out of memory|interrupted/.test(String(e.message));
  }
  function errText(e) {
    if (e instanceof Error) return (e.name || 'Error') + ': ' + e.message;
    return 'thrown: ' + fmt(e);
  }
  function isEvent(v) {
    return v !== null && typeof v === 'object' && !Array.isArray(v);
  }
  function encodeOk(v) {
    if (v === null || v === undefined) return '{"k":"drop"}';
    var list = Array.isArray(v) ? v : [v];
    var out = [];
    for (var i = 0; i < list.length; i++) {
      if (list[i] === null || list[i] === undefined) continue;
      if (!isEvent(list[i])) {
        return encodeErrMsg('transformEvent must return an event object, an array of events, or null/undefined to drop; got ' + (Array.isArray(list[i]) ? 'a nested array' : typeof list[i]));
      }
      out.push(list[i]);
    }
    if (out.length === 0) return '{"k":"drop"}';
    try {
      return '{"k":"ok","e":' + JSON.stringify(out) + '}';
    } catch (e) {
      if (isFatal(e)) throw e;
      return encodeErrMsg('the returned event cannot be serialized as JSON: ' + errText(e));
    }
  }
  function encodeErrMsg(m) {
    return '{"k":"err","m":' + JSON.stringify(String(m).slice(0, 4000)) + '}';
  }
  function encodeErr(e) {
    if (isFatal(e)) throw e;
    return encodeErrMsg(errText(e));
  }

  // RudderStack passes metadata as a function of the event; Sluice's is both: metadata(event).sourceId and metadata.sourceId.
  // Own properties a function has, or inherits as accessors that throw when set in strict mode:
  // metadata keys with these names are defined, not assigned.
  var FUNCTION_KEYS = { name: 1, length: 1, prototype: 1, caller: 1, arguments: 1 };
  // The batch's metadata is copied once; each event gets a callable with the same properties plus its
  // messageId, built with plain stores (defining every key per event cost a third of a batch's time).
  function metaMaker(md) {
    var base = Object.assign({}, md);
    var keys = Object.keys(base);
    var plain = [];
    var special = [];
    for (var i = 0; i < keys.length; i++) (has.call(FUNCTION_KEYS, keys[i]) ? special : plain).push(keys[i]);
    return function (messageId) {
      var fn = function (e) {
        var d = Object.assign({}, base);
        if (messageId !== undefined) d.messageId = messageId;
        if (isEvent(e) && e.messageId !== undefined) d.messageId = e.messageId;
        return d;
      };
      for (var j = 0; j < plain.length; j++) fn[plain[j]] = base[plain[j]];
      for (var k = 0; k < special.length; k++) {
        try { Object.defineProperty(fn, special[k], { value: base[special[k]], enumerable: true, writable: true, configurable: true }); } catch (e) { /* skip */ }
      }
      if (messageId !== undefined) fn.messageId = messageId;
      return fn;
    };
  }

  function run(input) {
    var req = JSON.parse(input);
    var events = req.events;
    var md = req.metadata;
    progress = [];
    if (typeof user.transformEvent === 'function') {
      var async = false;
      var metaFor = metaMaker(md);
      for (var i = 0; i < events.length; i++) {
        var ev = events[i];
        var meta = metaFor(isEvent(ev) ? ev.messageId : undefined);
        try {
          var v = user.transformEvent(ev, meta);
          if (v !== null && typeof v === 'object' && typeof v.then === 'function') {
            async = true;
            progress.push(Promise.resolve(v).then(encodeOk, encodeErr));
          } else {
            progress.push(encodeOk(v));
          }
        } catch (e) {
          progress.push(encodeErr(e));
        }
      }
      if (async) return Promise.all(progress).then(function (r) { return '[' + r.join(',') + ']'; });
      return '[' + progress.join(',') + ']';
    }
    var out = user.transformBatch(events, metaMaker(md)(undefined));
    function encodeBatch(r) {
      if (r === null || r === undefined) return '{"batch":null}';
      if (!Array.isArray(r)) throw new TypeError('transformBatch must return an array of events, or null/undefined to drop the batch');
      var list = [];
      for (var j = 0; j < r.length; j++) {
        if (r[j] === null || r[j] === undefined) continue;
        if (!isEvent(r[j])) throw new TypeError('transformBatch returned a ' + typeof r[j] + ' where an event object was expected');
        list.push(r[j]);
      }
      return '{"batch":' + JSON.stringify(list) + '}';
    }
    if (out !== null && typeof out === 'object' && typeof out.then === 'function') return Promise.resolve(out).then(encodeBatch);
    return encodeBatch(out);
  }

  G.console = consoleObj;
  G.require = requireLib;
  G.__sluice = {
    setCjs: function (name, code) { cjsSources[name] = code; },
    cjsKeys: function (name) { var m = requireLib(name); return JSON.stringify(m !== null && typeof m === 'object' || typeof m === 'function' ? Object.keys(m) : []); },
    setEsm: function (name, ns) { esm[name] = ns; },
    loadScript: function (code) {
      var module = { exports: {} };
      var fn = (0, eval)('(function (module, exports, require) {' + code +
        '\\n;if (typeof transformEvent === "function" && module.exports.transformEvent === undefined) module.exports.transformEvent = transformEvent;' +
        '\\n;if (typeof transformBatch === "function" && module.exports.transformBatch === undefined) module.exports.transformBatch = transformBatch;' +
        '\\n})');
      fn(module, module.exports, requireLib);
      user = module.exports;
    },
    install: function (ns) { user = ns; },
    check: function () {
      if (user === null || (typeof user !== 'object' && typeof user !== 'function')) return 'the transformation exports nothing';
      if (typeof user.transformEvent !== 'function' && typeof user.transformBatch !== 'function') {
        return 'the transformation must export a function transformEvent(event, metadata) or transformBatch(events, metadata)';
      }
      return typeof user.transformEvent === 'function' ? 'event' : 'batch';
    },
    run: run,
    progress: function () {
      var done = [];
      for (var i = 0; i < progress.length; i++) if (typeof progress[i] === 'string') done.push(progress[i]); else break;
      return '[' + done.join(',') + ']';
    },
    takeLogs: function () { var l = logs; logs = []; return JSON.stringify(l); }
  };
})();`;
}

/*
 * aggregator widget: shows a source's latest value (or one field of it) in every element with a data-source
 * attribute, for any number of sources and instances on one page, over ONE stream. README ("/widget.js") and
 * widget.d.ts describe every attribute the widget reads and writes.
 *
 *   <span data-source="demo-ticker" data-field="/price"></span>
 *   <span data-source="demo-quote" data-params="symbol=ACME" data-field="/price"></span>
 *   <script src="https://aggregator.example.com/widget.js" async></script>
 *
 * Reads data-source (an id, or an instance "demo-quote(symbol=ACME)"), data-params ("symbol=ACME"), data-field (a
 * JSON Pointer or dotted path: only that field is followed), data-poll-seconds (default 30) and data-token (sent as
 * access_token; one stream per distinct token). Writes data-version, data-stale, data-mode ("sse"/"poll"),
 * data-error (why nothing is shown) and a title while stale, and dispatches "aggregator:update" with the envelope.
 *
 * Streaming: every entry (source or canonical instance name, with its field) is listed on one multiplexed stream,
 * /api/events?sources=a,b/price,t(k=v) (50 per stream at most), since browsers allow six HTTP/1.1 connections per
 * origin. The browser reconnects by itself with the cursor as Last-Event-ID; scan() reopens the stream with the
 * longer list and its cursor (?lastEventId=). An instance left to its defaults is matched to the instance the
 * service names (the most specific element wins), or, without a value 5 s after the stream opened, asked once.
 *
 * Polling: without EventSource, or when a stream is refused, each entry is polled from /api/sources/{id}
 * [?name=value][&select=/pointer] through the browser's HTTP cache (an unchanged value costs a 304). 400, 401, 403
 * and 404 end an entry's polls with the reason in data-error; a refused stream is tried once more without the
 * entries that did not answer 200. Values are written as text, never as HTML. Plain ES5, no dependencies.
 *
 * window.aggregatorWidget.scan()     picks up elements added to the page
 * window.aggregatorWidget.stop(el?)  stops updating el (its stream is narrowed), or without el everything
 */
(function () {
  'use strict';
  var script = document.currentScript || (function () {
    var all = document.getElementsByTagName('script');
    for (var i = all.length - 1; i >= 0; i--) {
      if (/widget\.js([?#].*)?$/.test(all[i].src)) return all[i];
    }
    return null;
  })();
  if (!script || !script.src) return;
  if (window.aggregatorWidget && window.aggregatorWidget.scan) { // included twice: the first one serves the page
    window.aggregatorWidget.scan();
    return;
  }
  var base = script.src.replace(/widget\.js([?#].*)?$/, '');
  var MAX_PER_STREAM = 50;
  var live = !!window.EventSource;
  var entries = Object.create(null); // token + ' ' + key -> entry
  var streams = Object.create(null); // token -> [stream, ...]
  var elements = []; // every element being updated

  // the JSON Pointer for a data-field ("/a/b" as is, "a.b" becomes "/a/b"), "" for none
  function pointer(field) {
    if (!field) return '';
    if (field.charAt(0) === '/') return field;
    return '/' + field.split('.').map(function (p) { return p.replace(/~/g, '~0').replace(/\//g, '~1'); }).join('/');
  }

  // a parameter value as the service writes it in an instance name: every byte but A-Z a-z 0-9 - . _ ~ encoded
  function enc(v) {
    return encodeURIComponent(v).replace(/[!'()*]/g, function (c) { return '%' + c.charCodeAt(0).toString(16).toUpperCase(); });
  }

  function dec(v) { // a % without two hex digits stays as it is, as the service reads it
    try { return decodeURIComponent(v); } catch (e) { return v; }
  }

  // adds "k=v" pairs split by sep to params; returns a reason when one is malformed
  function pairs(text, sep, params) {
    var list = text.split(sep);
    for (var i = 0; i < list.length; i++) {
      if (!list[i]) continue;
      var eq = list[i].indexOf('=');
      if (eq <= 0) return 'parameters are written name=value';
      var k = dec(list[i].substring(0, eq));
      if (Object.prototype.hasOwnProperty.call(params, k)) return 'parameter "' + k + '" is given twice';
      params[k] = dec(list[i].substring(eq + 1));
    }
    return null;
  }

  // what an element names: {base, params (encoded values), name}, or {error} when data-source/data-params is malformed
  function named(el) {
    var src = el.getAttribute('data-source').replace(/^\s+|\s+$/g, '');
    var params = {};
    var base = src;
    var why = null;
    var open = src.indexOf('(');
    if (open > 0 && src.charAt(src.length - 1) === ')') {
      base = src.substring(0, open);
      why = pairs(src.substring(open + 1, src.length - 1), ';', params);
    } else if (open >= 0 || src.indexOf(')') >= 0) {
      why = 'an instance is written id(name=value;...)';
    }
    var extra = el.getAttribute('data-params');
    if (!why && extra) why = pairs(extra.replace(/^[?\s]+|\s+$/g, ''), /[&;]/, params);
    if (why) return {error: why};
    var names = Object.keys(params).sort();
    var encoded = {};
    var inner = names.map(function (k) {
      encoded[k] = enc(params[k]);
      return k + '=' + encoded[k];
    });
    return {base: base, params: encoded, name: names.length ? base + '(' + inner.join(';') + ')' : base};
  }

  // splits a name the service sent ("t(a=1;b=2)/ptr", "id/ptr") into its template, encoded params and pointer
  function parts(key) {
    var close = key.indexOf(')');
    var open = key.indexOf('(');
    var params = {};
    if (open > 0 && close > open) {
      key.substring(open + 1, close).split(';').forEach(function (p) {
        var eq = p.indexOf('=');
        if (eq > 0) params[p.substring(0, eq)] = p.substring(eq + 1);
      });
      return {base: key.substring(0, open), params: params, ptr: key.substring(close + 1)};
    }
    var slash = key.indexOf('/') < 0 ? key.length : key.indexOf('/');
    return {base: key.substring(0, slash), params: params, ptr: key.substring(slash)};
  }

  function within(small, big) { for (var k in small) if (big[k] !== small[k]) return false; return true; }

  function size(o) { return Object.keys(o).length; }

  function status(el, env) {
    el.setAttribute('data-version', String(env.version));
    el.setAttribute('data-stale', env.stale ? 'true' : 'false');
    if (env.stale) el.title = 'stale: ' + (env.error || 'the last fetch failed'); else el.removeAttribute('title');
  }

  function show(entry, el, env) {
    var v = env.data; // a field's envelope carries just the field; one the pointer does not reach is null
    el.textContent = v === undefined || v === null && entry.ptr ? '' : typeof v === 'string' ? v : JSON.stringify(v, null, 2);
    status(el, env);
    var event;
    try {
      event = new CustomEvent('aggregator:update', {detail: env});
    } catch (e) { // old browsers
      event = document.createEvent('CustomEvent');
      event.initCustomEvent('aggregator:update', false, false, env);
    }
    el.dispatchEvent(event);
  }

  function each(entry, fn) { for (var i = 0; i < entry.els.length; i++) fn(entry.els[i]); }

  function received(entry, env) {
    entry.latest = env;
    each(entry, function (el) {
      el.removeAttribute('data-error');
      show(entry, el, env);
    });
  }

  function fail(entry, reason) {
    each(entry, function (el) { el.setAttribute('data-error', reason); });
  }

  function mode(entry, m) {
    entry.mode = m;
    each(entry, function (el) { el.setAttribute('data-mode', m); });
  }

  function tokenQuery(token, sep) { return token ? sep + 'access_token=' + encodeURIComponent(token) : ''; }

  // ---- streaming: one EventSource per token (per 50 entries), carrying every entry of that token

  function open(token, list, cursor) {
    var keys = list.map(function (e) { return encodeURIComponent(e.key).replace(/%2F/gi, '/'); });
    var u = base + 'api/events?sources=' + keys.join(',') + tokenQuery(token, '&') +
      (cursor ? '&lastEventId=' + encodeURIComponent(cursor) : '');
    var s = {token: token, entries: list, cursor: cursor || '', es: new window.EventSource(u), retried: false};
    var byKey = Object.create(null); // the name the service sends -> the entries showing it
    function bind(name, e) {
      e.canon = name;
      (byKey[name] = byKey[name] || []).push(e);
    }
    list.forEach(function (e) {
      bind(e.canon || e.key, e);
      e.stream = s;
      mode(e, 'sse');
    });
    // the entries for a name: as written, or an element that left parameters to their defaults (the most specific)
    function find(name) {
      if (byKey[name]) return byKey[name];
      var p = parts(name);
      var best = [];
      list.forEach(function (e) {
        if (e.canon !== e.key || e.latest || e.base !== p.base || e.ptr !== p.ptr || !within(e.params, p.params)) return;
        if (best.length && size(e.params) < size(best[0].params)) return;
        if (best.length && size(e.params) > size(best[0].params)) best = [];
        best.push(e);
      });
      best.forEach(function (e) {
        byKey[e.canon].splice(byKey[e.canon].indexOf(e), 1);
        bind(name, e);
      });
      return best;
    }
    function data(ev, fn) {
      var env = JSON.parse(ev.data);
      if (ev.lastEventId) s.cursor = ev.lastEventId;
      find(env.instance || env.id).forEach(function (e) { fn(e, env); });
    }
    function onData(ev) { data(ev, received); }
    s.es.addEventListener('snapshot', onData);
    s.es.addEventListener('update', onData);
    s.es.addEventListener('status', function (ev) {
      data(ev, function (e, env) { each(e, function (el) { status(el, env); }); });
    });
    s.es.addEventListener('removed', function (ev) {
      data(ev, function (e) {
        fail(e, 'source "' + e.name + '" was removed');
        e.stream = null;
      });
    });
    s.es.onopen = function () {
      clearTimeout(s.resolve);
      s.resolve = setTimeout(function () { // elements still without a value: ask the service which instance they are
        list.forEach(function (e) {
          if (e.stream === s && !e.latest && e.canon === e.key) ask(e, bind);
        });
      }, 5000);
    };
    s.es.onerror = function () {
      if (s.es.readyState === 2) refused(s); // CLOSED: refused (limit, blocked, unknown id, no access); no retry
    };
    return s;
  }

  // one poll of an entry whose instance the service names otherwise (defaults): shows it and binds the name
  function ask(entry, bind) {
    var xhr = new XMLHttpRequest();
    xhr.open('GET', target(entry));
    xhr.onload = function () {
      if (xhr.status !== 200 || !entry.stream) return;
      var env = JSON.parse(xhr.responseText);
      if (!entry.latest) received(entry, env);
      if (env.instance && env.instance !== entry.canon) bind(env.instance, entry);
    };
    xhr.send();
  }

  function close(s) {
    s.es.close();
    clearTimeout(s.resolve);
    var list = streams[s.token] || [];
    var i = list.indexOf(s);
    if (i >= 0) list.splice(i, 1);
  }

  // (re)opens the streams of one token with all its streamable entries, keeping each stream's cursor
  function restream(token) {
    var cursor = (streams[token] || []).map(function (s) { return s.cursor; }).filter(Boolean).join(',');
    (streams[token] || []).slice().forEach(close);
    var list = [];
    for (var k in entries) {
      var e = entries[k];
      if (e.token === token && e.streamable && !e.polling && !e.dead && e.els.length) list.push(e);
    }
    streams[token] = [];
    for (var i = 0; i < list.length; i += MAX_PER_STREAM) {
      streams[token].push(open(token, list.slice(i, i + MAX_PER_STREAM), cursor));
    }
  }

  function refused(s) {
    close(s);
    var pending = s.entries.length;
    var bad = 0;
    var ok = [];
    s.entries.forEach(function (e) {
      fail(e, 'stream refused; polling'); // the polls tell why, or clear it
      poll(e, function (answer) { // after the first answer of each: try the stream again without the bad ones, once
        if (answer) ok.push(e); else bad++;
        if (--pending === 0 && bad > 0 && bad < s.entries.length && !s.retried) {
          var good = ok.filter(function (x) { return !x.dead && x.els.length; });
          good.forEach(function (x) { x.polling = false; clearTimeout(x.timer); });
          var again = open(s.token, good, s.cursor);
          again.retried = true;
          (streams[s.token] = streams[s.token] || []).push(again);
        }
      });
    });
  }

  // ---- polling: /api/sources/{id}[?name=value...][&select=/pointer], through the browser's HTTP cache

  function target(entry) {
    var query = [];
    for (var k in entry.params) query.push(encodeURIComponent(k) + '=' + entry.params[k]);
    if (entry.ptr) query.push('select=' + encodeURIComponent(entry.ptr));
    var u = base + 'api/sources/' + encodeURIComponent(entry.base) + (query.length ? '?' + query.join('&') : '');
    return u + tokenQuery(entry.token, query.length ? '&' : '?');
  }

  function detail(xhr, fallback) { // the detail of a problem+json answer
    try { return JSON.parse(xhr.responseText).detail || fallback; } catch (e) { return fallback; }
  }

  function poll(entry, first) {
    var seconds = Math.max(1, parseFloat(entry.els[0].getAttribute('data-poll-seconds')) || 30);
    var url = target(entry);
    var last = null;
    entry.polling = true;
    mode(entry, 'poll');
    function answered(ok) {
      if (first) first(ok);
      first = null;
    }
    function again() {
      if (entry.polling) entry.timer = setTimeout(once, seconds * 1000);
    }
    function stop(reason) {
      entry.dead = true;
      entry.polling = false;
      fail(entry, reason);
      answered(false);
    }
    function once() {
      if (!entry.polling) return;
      var xhr = new XMLHttpRequest();
      xhr.open('GET', url);
      xhr.onload = function () { // the same request gets the same answer: stop on 400, 404, 401 and 403
        if (!entry.polling) return;
        if (xhr.status === 400) return stop(detail(xhr, 'refused by the service (400)'));
        if (xhr.status === 404) return stop('no source "' + entry.name + '"');
        if (xhr.status === 401) return stop('access token missing or not valid');
        if (xhr.status === 403) return stop('access token does not cover "' + entry.name + '"');
        if (xhr.status === 200 && xhr.responseText !== last) { // 304: nothing new
          last = xhr.responseText;
          received(entry, JSON.parse(last));
        } else if (xhr.status === 200) {
          each(entry, function (el) { el.removeAttribute('data-error'); });
        } else if (xhr.status === 503) { // no data yet, or no room for another instance now: say why, keep polling
          var why = detail(xhr, '');
          if (why) fail(entry, why);
        }
        answered(xhr.status === 200 || xhr.status === 304);
        again();
      };
      xhr.onerror = function () {
        answered(true);
        again();
      };
      xhr.send();
    }
    once();
  }

  // ---- elements

  function scan() {
    var els = document.querySelectorAll('[data-source]');
    var changed = Object.create(null);
    var polled = [];
    for (var i = 0; i < els.length; i++) {
      var el = els[i];
      if (!el.getAttribute('data-source') || elements.indexOf(el) >= 0) continue;
      var n = named(el);
      if (n.error) {
        el.setAttribute('data-error', n.error);
        continue; // not taken: nothing is asked of the service, and a corrected element is taken by the next scan
      }
      var token = el.getAttribute('data-token') || '';
      var ptr = pointer(el.getAttribute('data-field'));
      var key = n.name + ptr; // what the service calls it: "demo-ticker/price", "demo-quote(symbol=ACME)/price"
      var k = token + ' ' + key;
      var entry = entries[k];
      if (!entry) {
        // "," separates the entries of a stream: a pointer with one is polled (?select= takes any pointer)
        entry = entries[k] = {name: n.name, base: n.base, params: n.params, ptr: ptr, key: key, token: token, els: [],
          streamable: live && ptr.indexOf(',') < 0};
        if (entry.streamable) changed[token] = true; else polled.push(entry);
      }
      entry.els.push(el);
      elements.push(el);
      el.setAttribute('data-mode', entry.mode || (entry.streamable ? 'sse' : 'poll'));
      if (entry.dead) el.setAttribute('data-error', entry.els[0].getAttribute('data-error') || 'not available');
      if (entry.latest) show(entry, el, entry.latest);
    }
    for (var j = 0; j < polled.length; j++) poll(polled[j]);
    for (var t in changed) restream(t);
  }

  function stop(el) {
    if (el) {
      var at = elements.indexOf(el);
      if (at < 0) return;
      elements.splice(at, 1);
      for (var k in entries) {
        var e = entries[k];
        var i = e.els.indexOf(el);
        if (i < 0) continue;
        e.els.splice(i, 1);
        if (!e.els.length) {
          delete entries[k];
          e.polling = false;
          clearTimeout(e.timer);
          if (e.stream) restream(e.token);
        }
      }
      return;
    }
    for (var t in streams) streams[t].slice().forEach(close);
    for (var key in entries) {
      entries[key].polling = false;
      clearTimeout(entries[key].timer);
    }
    entries = Object.create(null);
    streams = Object.create(null);
    elements = [];
  }

  window.aggregatorWidget = {scan: scan, stop: stop};
  if (document.readyState === 'loading') {
    document.addEventListener('DOMContentLoaded', scan);
  } else {
    scan();
  }
})();

/*
 * aggregator widget: shows a source's latest value (or one field of it) in every element with a data-source
 * attribute, for any number of sources on one page, over ONE stream.
 *
 *   <span data-source="demo-ticker" data-field="/price"></span>
 *   <script src="https://aggregator.example.com/widget.js" async></script>
 *
 * data-source        the source id (required)
 * data-field         optional: a JSON Pointer ("/price", "/items/0/name") or a dotted path ("price") into the data;
 *                    the widget then follows only that field (sources=id/pointer on the stream, ?select= on polls),
 *                    so the element is updated only when that value changes. Without it the whole value is shown
 *                    (strings as is, the rest as JSON).
 * data-poll-seconds  optional: the polling period when streaming is not possible (default 30, min 1)
 * data-token         optional: an access token for a source marked "access: token", sent as the access_token query
 *                    parameter (EventSource cannot set headers; a query parameter needs no CORS preflight). The
 *                    widget opens one stream per distinct token (elements without a token share the public one).
 *                    The token is visible to anyone who can see the page and ends up in URLs: give the page a key
 *                    that covers only the sources it shows, or a short-lived JWT. The widget never logs or shows it.
 *
 * Streaming: every (source, field) on the page is listed on one multiplexed stream, /api/events?sources=a,b/price
 * (at most 50 per stream; more open further streams). Browsers allow only six HTTP/1.1 connections per origin, so
 * one stream per source would leave the seventh source waiting forever. After a drop the browser reconnects by
 * itself and sends the last cursor as Last-Event-ID, so each entry resumes where it stopped. scan() picks up
 * elements added later: the stream is reopened with the longer list and the cursor it had (?lastEventId=), so the
 * entries already shown are not sent again.
 *
 * Polling: without EventSource, or when a stream is refused, each entry is polled from /api/sources/{id}
 * (?select=/pointer for a field). The polls go through the browser's HTTP cache, which revalidates with
 * If-None-Match once max-age (the time to the next upstream fetch) is over: an unchanged value costs a 304, with no
 * CORS preflight. When a refused stream listed several entries and some of them answer 404/401/403, the stream is
 * tried once more without those.
 *
 * Each element gets data-version, data-stale ("true"/"false"), data-mode ("sse" or "poll") and, while stale, a title
 * with the error; it receives an "aggregator:update" event whose detail is the envelope received (for a field: id
 * "source/pointer", data the field's value). When the widget cannot show the entry, the element gets data-error with
 * a short reason: "stream refused; polling" while a stream is refused (until a poll succeeds), and, ending the
 * polls, 'no source "id"' (404), 'access token missing or not valid' (401), 'access token does not cover "id"' (403)
 * or 'source "id" was removed'. Values are written as text, never as HTML. Plain ES5, no dependencies.
 *
 * window.aggregatorWidget.scan()     picks up elements added to the page
 * window.aggregatorWidget.stop(el?)  stops updating el (its stream is narrowed), or without el everything: every
 *                                    stream is closed and every poll stopped; scan() starts again
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

  function status(el, env) {
    el.setAttribute('data-version', String(env.version));
    el.setAttribute('data-stale', env.stale ? 'true' : 'false');
    if (env.stale) {
      el.title = 'stale: ' + (env.error || 'the last fetch failed');
    } else {
      el.removeAttribute('title');
    }
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

  function each(entry, fn) {
    for (var i = 0; i < entry.els.length; i++) fn(entry.els[i]);
  }

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

  function tokenQuery(token, sep) {
    return token ? sep + 'access_token=' + encodeURIComponent(token) : '';
  }

  // ---- streaming: one EventSource per token (per 50 entries), carrying every entry of that token

  function open(token, list, cursor) {
    var keys = list.map(function (e) { return encodeURIComponent(e.key).replace(/%2F/gi, '/'); });
    var u = base + 'api/events?sources=' + keys.join(',') + tokenQuery(token, '&') +
      (cursor ? '&lastEventId=' + encodeURIComponent(cursor) : '');
    var s = {token: token, entries: list, cursor: cursor || '', es: new window.EventSource(u), retried: false};
    var byKey = Object.create(null);
    list.forEach(function (e) { byKey[e.key] = e; e.stream = s; mode(e, 'sse'); });
    function data(ev) {
      var env = JSON.parse(ev.data);
      if (ev.lastEventId) s.cursor = ev.lastEventId;
      return {env: env, entry: byKey[env.id]};
    }
    function onData(ev) {
      var d = data(ev);
      if (d.entry) received(d.entry, d.env);
    }
    s.es.addEventListener('snapshot', onData);
    s.es.addEventListener('update', onData);
    s.es.addEventListener('status', function (ev) {
      var d = data(ev);
      if (d.entry) each(d.entry, function (el) { status(el, d.env); });
    });
    s.es.addEventListener('removed', function (ev) {
      var d = data(ev);
      if (d.entry) {
        fail(d.entry, 'source "' + d.entry.id + '" was removed');
        d.entry.stream = null;
      }
    });
    s.es.onerror = function () {
      if (s.es.readyState === 2) refused(s); // CLOSED: refused (limit, blocked, unknown id, no access); no retry
    };
    return s;
  }

  function close(s) {
    s.es.close();
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
    s.entries.forEach(function (e) {
      fail(e, 'stream refused; polling'); // the polls tell why, or clear it
      poll(e, function (ok) { // after the first answer of each: try the stream again without the bad entries, once
        if (!ok) bad++;
        if (--pending === 0 && bad > 0 && bad < s.entries.length && !s.retried) {
          var good = s.entries.filter(function (x) { return !x.dead && x.els.length; });
          good.forEach(function (x) { x.polling = false; clearTimeout(x.timer); });
          var again = open(s.token, good, s.cursor);
          again.retried = true;
          (streams[s.token] = streams[s.token] || []).push(again);
        }
      });
    });
  }

  // ---- polling: /api/sources/{id}[?select=/pointer], through the browser's HTTP cache

  function poll(entry, first) {
    var seconds = Math.max(1, parseFloat(entry.els[0].getAttribute('data-poll-seconds')) || 30);
    var target = base + 'api/sources/' + encodeURIComponent(entry.id) +
      (entry.ptr ? '?select=' + encodeURIComponent(entry.ptr) : '');
    target += tokenQuery(entry.token, target.indexOf('?') < 0 ? '?' : '&');
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
      xhr.open('GET', target);
      xhr.onload = function () { // the same token gets the same answer: stop on 404, 401 and 403
        if (!entry.polling) return;
        if (xhr.status === 404) return stop('no source "' + entry.id + '"');
        if (xhr.status === 401) return stop('access token missing or not valid');
        if (xhr.status === 403) return stop('access token does not cover "' + entry.id + '"');
        if (xhr.status === 200 && xhr.responseText !== last) { // 304, 503 (no data yet): nothing new
          last = xhr.responseText;
          received(entry, JSON.parse(last));
        } else if (xhr.status === 200) {
          each(entry, function (el) { el.removeAttribute('data-error'); });
        }
        answered(true);
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
      var id = el.getAttribute('data-source');
      if (!id || elements.indexOf(el) >= 0) continue;
      var token = el.getAttribute('data-token') || '';
      var ptr = pointer(el.getAttribute('data-field'));
      var key = id + ptr; // what the service calls it: "demo-ticker", "demo-ticker/price"
      var k = token + ' ' + key;
      var entry = entries[k];
      if (!entry) {
        // "," separates the entries of a stream: a pointer with one is polled (?select= takes any pointer)
        entry = entries[k] = {id: id, ptr: ptr, key: key, token: token, els: [], streamable: live && ptr.indexOf(',') < 0};
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

/*
 * aggregator widget: shows one source's latest value in every element with a data-source attribute.
 *
 *   <div data-source="demo-ticker" data-field="/price"></div>
 *   <script src="https://aggregator.example.com/widget.js" async></script>
 *
 * data-source        the source id (required)
 * data-field         optional: a JSON Pointer ("/price", "/items/0/name") or a dotted path ("price")
 *                    into the data; without it the whole value is shown (strings as is, the rest as JSON)
 * data-poll-seconds  optional: the polling period when EventSource is not available (default 30, min 1)
 * data-token         optional: an access token for a source marked "access: token"; it is sent as the
 *                    access_token query parameter of the stream and of the polls (EventSource cannot set
 *                    headers, and a query parameter needs no CORS preflight). Elements showing the same
 *                    source share one stream, opened with the first data-token among them. The token is
 *                    visible to anyone who can see the page and ends up in URLs: give the page a key that
 *                    covers only the sources it shows, or a short-lived JWT. The widget never logs or shows it.
 *
 * URLs are derived from this script's own src, so the page may live on another origin. Updates come
 * over Server-Sent Events (/api/sources/{id}/events; the browser reconnects and resumes by itself);
 * without EventSource, or when the stream is refused, the widget polls /api/sources/{id}. Polling goes
 * through the browser's HTTP cache, which revalidates with If-None-Match once the response's max-age
 * (the time to the next upstream fetch) is over, so an unchanged source costs a 304 and no preflight.
 *
 * Each element gets data-version, data-stale ("true"/"false"), data-mode ("sse" or "poll") and, while
 * stale, a title with the error; it also receives an "aggregator:update" event whose detail is the
 * envelope. When the widget cannot show the source, the element gets data-error with a short reason:
 * "stream refused; polling" while the stream is refused (until a poll succeeds), and, ending the polls,
 * 'no source "id"' (404), 'access token missing or not valid' (401) or 'access token does not cover
 * "id"' (403). Values are written as text, never as HTML. Plain ES5, no dependencies.
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
  var base = script.src.replace(/widget\.js([?#].*)?$/, '');
  var groups = Object.create(null); // source id -> the elements showing it
  var latest = Object.create(null); // source id -> the last envelope with data
  var modes = Object.create(null); // source id -> "sse" or "poll"
  var live = !!window.EventSource;

  function lookup(data, field) {
    if (!field) return data;
    var parts = field.charAt(0) === '/'
      ? field.slice(1).split('/').map(function (p) { return p.replace(/~1/g, '/').replace(/~0/g, '~'); })
      : field.split('.');
    for (var i = 0; i < parts.length; i++) {
      if (data === null || typeof data !== 'object' || !Object.prototype.hasOwnProperty.call(data, parts[i])) {
        return undefined;
      }
      data = data[parts[i]];
    }
    return data;
  }

  function each(id, fn) {
    var els = groups[id];
    for (var i = 0; i < els.length; i++) fn(els[i]);
  }

  function showAll(id, env) {
    latest[id] = env;
    each(id, function (el) { show(el, env); });
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

  function show(el, env) {
    var v = lookup(env.data, el.getAttribute('data-field'));
    el.textContent = v === undefined ? '' : typeof v === 'string' ? v : JSON.stringify(v, null, 2);
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

  // the URL of /api/sources/{id}{path}, with the access token of the source's elements when they have one
  function url(id, path) {
    var u = base + 'api/sources/' + encodeURIComponent(id) + path;
    var els = groups[id];
    for (var i = 0; i < els.length; i++) {
      var token = els[i].getAttribute('data-token');
      if (token) return u + '?access_token=' + encodeURIComponent(token);
    }
    return u;
  }

  function fail(id, reason) {
    each(id, function (el) { el.setAttribute('data-error', reason); });
  }

  function stream(id) {
    var es = new window.EventSource(url(id, '/events'));
    var onData = function (e) { showAll(id, JSON.parse(e.data)); };
    es.addEventListener('snapshot', onData);
    es.addEventListener('update', onData);
    es.addEventListener('status', function (e) {
      var env = JSON.parse(e.data);
      each(id, function (el) { status(el, env); });
    });
    es.onerror = function () {
      if (es.readyState === 2) { // CLOSED: refused (limit, blocked, unknown id, no access); the browser won't retry
        es.close();
        fail(id, 'stream refused; polling'); // the polls tell why, or clear it
        poll(id);
      }
    };
  }

  function poll(id) {
    var seconds = Math.max(1, parseFloat(groups[id][0].getAttribute('data-poll-seconds')) || 30);
    var target = url(id, '');
    var last = null;
    modes[id] = 'poll';
    each(id, function (el) { el.setAttribute('data-mode', 'poll'); });
    function again() { setTimeout(once, seconds * 1000); }
    function once() {
      var xhr = new XMLHttpRequest();
      xhr.open('GET', target);
      xhr.onload = function () { // the same token gets the same answer: stop on 404, 401 and 403
        if (xhr.status === 404) return fail(id, 'no source "' + id + '"');
        if (xhr.status === 401) return fail(id, 'access token missing or not valid');
        if (xhr.status === 403) return fail(id, 'access token does not cover "' + id + '"');
        if (xhr.status === 200) each(id, function (el) { el.removeAttribute('data-error'); });
        if (xhr.status === 200 && xhr.responseText !== last) { // 304, 503 (no data yet): nothing new
          last = xhr.responseText;
          showAll(id, JSON.parse(last));
        }
        again();
      };
      xhr.onerror = again;
      xhr.send();
    }
    once();
  }

  function scan() {
    var els = document.querySelectorAll('[data-source]');
    var fresh = [];
    for (var i = 0; i < els.length; i++) {
      var el = els[i];
      var id = el.getAttribute('data-source');
      if (!id || el.getAttribute('data-mode')) continue;
      if (!groups[id]) {
        groups[id] = [];
        fresh.push(id);
      }
      groups[id].push(el);
      el.setAttribute('data-mode', modes[id] || (live ? 'sse' : 'poll'));
      if (latest[id]) show(el, latest[id]);
    }
    for (var j = 0; j < fresh.length; j++) {
      if (live) stream(fresh[j]); else poll(fresh[j]);
    }
  }

  window.aggregatorWidget = {scan: scan}; // call again after adding elements to the page
  if (document.readyState === 'loading') {
    document.addEventListener('DOMContentLoaded', scan);
  } else {
    scan();
  }
})();

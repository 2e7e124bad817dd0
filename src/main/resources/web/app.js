// The dashboard: one card per source from GET api/sources, kept live by ONE multiplexed EventSource on
// api/events. The browser reconnects by itself and sends the last event id (a cursor such as "a:5-967c7cb03b89,b:12-0a1b2c3d4e5f"),
// so the server resumes every source where the page left off. Values are written with textContent only.
'use strict';

(() => {
  const cards = new Map(); // source id -> {el, changedAt}
  const $ = (sel, root = document) => root.querySelector(sel);
  let source = null; // the EventSource
  let cursor = null; // the last event id seen, for a restart after the stream was refused

  function setConnection(state, text) {
    const el = $('#connection');
    el.dataset.state = state;
    el.textContent = text;
  }

  function message(text) {
    const el = $('#message');
    el.textContent = text || '';
    el.hidden = !text;
  }

  function card(s) {
    let c = cards.get(s.id);
    if (!c) {
      const el = $('#card').content.firstElementChild.cloneNode(true);
      el.dataset.id = s.id;
      $('.name', el).textContent = s.id;
      $('#cards').appendChild(el);
      c = {el, changedAt: null, hasData: false};
      cards.set(s.id, c);
    }
    return c;
  }

  // Applies a source's status (from api/sources or any event); data only when the event carries it.
  function apply(s, hasData) {
    const c = card(s);
    const el = c.el;
    if (s.version > 0) {
      $('.version', el).textContent = 'v' + s.version;
    }
    if (s.changedAt) {
      c.changedAt = Date.parse(s.changedAt);
      $('.changed', el).dateTime = s.changedAt;
      $('.changed', el).title = 'changed at ' + new Date(c.changedAt).toLocaleString();
    }
    const error = s.error || s.lastError;
    const stale = $('.stale', el);
    stale.hidden = !s.stale;
    $('.error', stale).textContent = s.stale ? error || 'last fetch failed' : '';
    el.classList.toggle('is-stale', !!s.stale);
    const value = $('.value', el);
    const text = hasData ? (typeof s.data === 'string' ? s.data : JSON.stringify(s.data, null, 2)) : null;
    if (text !== null && text !== value.textContent) {
      if (c.hasData) {
        el.classList.remove('flash');
        void el.offsetWidth; // restarts the animation
        el.classList.add('flash');
      }
      value.textContent = text;
      c.hasData = true;
    }
    tick();
  }

  function ago(ms) {
    const s = Math.max(0, Math.round(ms / 1000));
    if (s < 60) return s + ' s ago';
    if (s < 3600) return Math.floor(s / 60) + ' min ago';
    if (s < 86400) return Math.floor(s / 3600) + ' h ago';
    return Math.floor(s / 86400) + ' d ago';
  }

  function tick() {
    const now = Date.now();
    for (const c of cards.values()) {
      $('.changed', c.el).textContent = c.changedAt ? 'changed ' + ago(now - c.changedAt) : '';
    }
  }

  function origin(s) {
    if (s.combine) return 'combines ' + s.combine.join(', ');
    const every = s.interval ? ' every ' + s.interval + ' s' : '';
    return (s.url || '') + every + (s.poll === 'on-demand' ? ', on demand' : '');
  }

  async function start() {
    let list;
    try {
      const r = await fetch('api/sources', {headers: {Accept: 'application/json'}, cache: 'no-store'});
      if (!r.ok) throw new Error('HTTP ' + r.status);
      list = (await r.json()).sources;
    } catch (e) {
      setConnection('reconnecting', 'reconnecting…');
      message('Cannot list the sources (' + e.message + '); retrying.');
      setTimeout(start, 5000);
      return;
    }
    message(list.length ? '' : 'No sources are configured.');
    const ids = new Set(list.map(s => s.id));
    for (const [id, c] of cards) {
      if (!ids.has(id)) {
        c.el.remove();
        cards.delete(id);
      }
    }
    for (const s of list) {
      $('.origin', card(s).el).textContent = origin(s);
      apply(s, false);
    }
    if (list.length) listen(list.map(s => s.id));
  }

  function listen(ids) {
    let url = 'api/events?sources=' + ids.map(encodeURIComponent).join(',');
    if (cursor) url += '&lastEventId=' + encodeURIComponent(cursor);
    const es = new EventSource(url);
    source = es;
    const onEvent = e => {
      cursor = e.lastEventId || cursor;
      let s;
      try {
        s = JSON.parse(e.data);
      } catch (err) {
        return;
      }
      if (cards.has(s.id)) apply(s, e.type !== 'status');
    };
    ['snapshot', 'update', 'status'].forEach(type => es.addEventListener(type, onEvent));
    es.onopen = () => setConnection('connected', 'connected');
    es.onerror = () => {
      if (es.readyState === EventSource.CONNECTING) {
        setConnection('reconnecting', 'reconnecting…'); // the browser retries after the server's retry: delay
      } else if (source === es) {
        // refused (e.g. 503 at the subscriber limit, or 400 after a config reload): start over from the list
        es.close();
        source = null;
        setConnection('reconnecting', 'reconnecting…');
        setTimeout(start, 5000);
      }
    };
  }

  setInterval(tick, 1000);
  start();
})();

// The dashboard: one card per source from GET api/sources, kept live by ONE multiplexed EventSource on
// api/events. The browser reconnects by itself and sends the last event id (a cursor such as "a:5-967c7cb03b89,b:12-0a1b2c3d4e5f"),
// so the server resumes every source where the page left off. Values are written with textContent only.
// Each numeric field gets a sparkline: the retained versions from api/sources/{id}/history first, then every
// value the stream brings. Upstream health and the served-versus-fetched counters come from api/sources,
// read again every few seconds.
// A parametrised source (a template) gets a card listing its live instances, and each instance with data a card of
// its own. The page does not subscribe to instances (an open dashboard would keep every instance polled): their
// cards follow api/sources, and read the instance's history when its version moves (a history read wakes nothing).
'use strict';

(() => {
  const cards = new Map(); // source id or instance name -> {el, changedAt, ...}
  const templates = new Map(); // template id -> {el}
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
      c = {el, changedAt: null, hasData: false, series: new Map()};
      cards.set(s.id, c);
      history(s.id, c);
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
    if (hasData) plot(c, s.version, s.data);
    tick();
  }

  // ---- sparklines of numeric fields

  const MAX_POINTS = 120;
  const MAX_CHARTS = 4;
  const SVG = 'http://www.w3.org/2000/svg';

  // the numeric leaves of a value, as JSON Pointers ("" for a number itself), at most MAX_CHARTS, objects 3 deep
  function numbers(data, path = '', out = [], depth = 0) {
    if (typeof data === 'number' && isFinite(data)) out.push([path, data]);
    else if (data && typeof data === 'object' && !Array.isArray(data) && depth < 3) {
      for (const [k, v] of Object.entries(data)) {
        if (out.length >= MAX_CHARTS) break;
        numbers(v, path + '/' + k.replace(/~/g, '~0').replace(/\//g, '~1'), out, depth + 1);
      }
    }
    return out.slice(0, MAX_CHARTS);
  }

  // adds one version's numbers to the card's charts; points are kept in version order, each version once
  function plot(c, version, data) {
    for (const [path, v] of numbers(data)) {
      let line = c.series.get(path);
      if (!line) {
        if (c.series.size >= MAX_CHARTS) continue;
        line = chart(c, path);
        c.series.set(path, line);
      }
      if (line.versions.has(version)) continue;
      line.versions.add(version);
      line.points.push([version, v]);
      line.points.sort((x, y) => x[0] - y[0]);
      while (line.points.length > MAX_POINTS) line.versions.delete(line.points.shift()[0]);
      draw(line);
    }
  }

  function chart(c, path) {
    const fig = document.createElement('figure');
    fig.className = 'spark';
    fig.dataset.path = path;
    const label = document.createElement('figcaption');
    const name = document.createElement('span');
    name.className = 'field';
    name.textContent = path || 'value';
    const now = document.createElement('span');
    now.className = 'now';
    label.append(name, now);
    const svg = document.createElementNS(SVG, 'svg');
    svg.setAttribute('viewBox', '0 0 100 24');
    svg.setAttribute('preserveAspectRatio', 'none');
    svg.setAttribute('role', 'img');
    const poly = document.createElementNS(SVG, 'polyline');
    svg.appendChild(poly);
    fig.append(label, svg);
    $('.charts', c.el).appendChild(fig);
    return {fig, poly, now, svg, points: [], versions: new Set()};
  }

  function draw(line) {
    const p = line.points.map(x => x[1]);
    const min = Math.min(...p);
    const max = Math.max(...p);
    const span = max - min || 1;
    const step = p.length > 1 ? 100 / (p.length - 1) : 0;
    line.poly.setAttribute('points', p.map((v, i) =>
      (i * step).toFixed(2) + ',' + (22 - ((v - min) / span) * 20).toFixed(2)).join(' '));
    line.now.textContent = p[p.length - 1].toLocaleString();
    line.fig.dataset.points = String(p.length);
    line.svg.setAttribute('aria-label', (line.fig.dataset.path || 'value') + ': ' + p.length + ' values from ' +
      min.toLocaleString() + ' to ' + max.toLocaleString());
  }

  // the retained versions into the charts; for an instance (status given) the latest is also the value shown
  async function history(id, c, status) {
    try {
      const r = await fetch('api/sources/' + encodeURIComponent(id) + '/history', {cache: 'no-store'});
      if (!r.ok) return;
      const versions = (await r.json()).versions;
      versions.forEach(v => plot(c, v.version, v.data));
      const last = versions[versions.length - 1];
      if (status && last) apply({...status, id, version: last.version, changedAt: last.changedAt, data: last.data}, true);
    } catch (e) {
      // the charts then start with the stream (or, for an instance, the next version)
    }
  }

  // ---- upstream health and what the service saved

  const count = n => Number(n || 0).toLocaleString('en-US');

  function seconds(s) {
    if (s === null || s === undefined) return '';
    return s < 1 ? Math.round(s * 1000) + ' ms' : s.toFixed(1) + ' s';
  }

  function status(s, el = card(s).el) {
    const served = $('.served', el);
    served.dataset.reads = String(s.clientReads || 0);
    served.dataset.events = String(s.eventsServed || 0);
    served.dataset.calls = String(s.upstreamCalls || 0);
    $('.reads', served).textContent = count(s.clientReads) + ' client reads';
    $('.events', served).textContent = count(s.eventsServed) + ' events';
    $('.streams', served).textContent = count(s.streamsOpened) + ' streams';
    $('.calls', served).textContent = s.combine ? 'no upstream (combined)' : count(s.upstreamCalls) + ' upstream calls';
    const health = $('.health', el);
    if (!health) return; // a template: its instances have their own
    const parts = [];
    if (s.lastFetchSeconds !== undefined && s.lastFetchSeconds !== null) parts.push('last fetch ' + seconds(s.lastFetchSeconds));
    if (s.nextFetchAt) {
      const next = Math.max(0, (Date.parse(s.nextFetchAt) - Date.now()) / 1000);
      parts.push(s.state === 'idle' ? 'idle until read' : 'next in ' + seconds(next));
    }
    if (s.consecutiveFailures > 0) {
      parts.push(s.consecutiveFailures + (s.consecutiveFailures === 1 ? ' failure' : ' failures') + ', backing off');
    }
    health.textContent = parts.join(' · ');
    health.classList.toggle('failing', s.consecutiveFailures > 0);
  }

  function totals(t) {
    const el = $('#totals');
    if (!t) {
      el.hidden = true;
      return;
    }
    el.hidden = false;
    el.dataset.reads = String(t.clientReads);
    el.dataset.calls = String(t.upstreamCalls);
    $('.reads', el).textContent = count(t.clientReads) + ' client reads';
    $('.events', el).textContent = count(t.eventsServed) + ' events served';
    $('.calls', el).textContent = count(t.upstreamCalls) + ' upstream calls';
  }

  // ---- parametrised sources: the template's rules and live instances, and a card per instance with data

  const params = p => Object.entries(p || {}).map(([k, v]) => k + '=' + v).join(', ');

  function rules(t) {
    const each = Object.entries(t.params).map(([k, r]) =>
      k + ': ' + (r.values ? 'one of ' + r.values.join(', ') : r.pattern) +
      (r.default !== undefined ? ' (default ' + r.default + ')' : ''));
    return each.join(' · ') + ' · at most ' + t.maxKeys + ' instances';
  }

  function next(i) {
    if (i.state === 'idle') return 'idle until read';
    if (!i.nextFetchAt) return '';
    return 'in ' + seconds(Math.max(0, (Date.parse(i.nextFetchAt) - Date.now()) / 1000));
  }

  function template(t) {
    let tc = templates.get(t.id);
    if (!tc) {
      const el = $('#template-card').content.firstElementChild.cloneNode(true);
      el.dataset.template = t.id;
      $('.name', el).textContent = t.id;
      $('#cards').appendChild(el);
      tc = {el};
      templates.set(t.id, tc);
    }
    const el = tc.el;
    $('.origin', el).textContent = origin(t);
    $('.rules', el).textContent = rules(t);
    status(t, el);
    const live = (t.live || []).slice().sort((a, b) => a.instance < b.instance ? -1 : a.instance > b.instance ? 1 : 0);
    $('.count', el).textContent = live.length ? live.length + ' live ' + (live.length === 1 ? 'instance' : 'instances')
      : 'no live instance: the first read of one starts it (api/sources/' + t.id + '?' +
        Object.keys(t.params).map(k => k + '=…').join('&') + ')';
    const rows = live.map(i => {
      const tr = document.createElement('tr');
      tr.dataset.instance = i.instance;
      tr.dataset.state = i.state;
      tr.classList.toggle('is-stale', !!i.stale);
      [params(i.params), i.version > 0 ? 'v' + i.version : '–', i.state + (i.stale ? ', stale' : ''),
        String(i.subscribers), next(i)].forEach(text => {
        const td = document.createElement('td');
        td.textContent = text;
        tr.appendChild(td);
      });
      if (i.stale && i.lastError) tr.title = 'stale: ' + i.lastError;
      return tr;
    });
    $('tbody', el).replaceChildren(...rows);
    // the instances' own cards, right after the template's
    const names = new Set(live.map(i => i.instance));
    for (const [name, c] of cards) {
      if (c.of === t.id && !names.has(name)) {
        c.el.remove();
        cards.delete(name);
      }
    }
    let after = el;
    for (const i of live.filter(x => x.version > 0)) {
      const c = instanceCard(t, i, after);
      after = c.el;
      const health = $('.health', c.el);
      health.textContent = [i.state === 'idle' ? 'idle: no reader, not polled' : 'next fetch ' + next(i),
        i.subscribers + (i.subscribers === 1 ? ' subscriber' : ' subscribers')].join(' · ');
      health.classList.toggle('failing', !!i.stale);
      const state = {stale: i.stale, lastError: i.lastError};
      if (c.shown !== i.version) {
        c.shown = i.version;
        history(i.instance, c, state);
      } else {
        apply({id: i.instance, version: i.version, ...state}, false);
      }
    }
  }

  function instanceCard(t, i, after) {
    let c = cards.get(i.instance);
    if (!c) {
      const el = $('#card').content.firstElementChild.cloneNode(true);
      el.dataset.id = i.instance;
      el.dataset.of = t.id;
      $('.name', el).textContent = t.id + ' · ' + params(i.params);
      $('.origin', el).textContent = 'instance ' + i.instance + ' of ' + t.id;
      $('.served', el).hidden = true; // counted for the template
      c = {el, changedAt: null, hasData: false, series: new Map(), of: t.id};
      cards.set(i.instance, c);
    }
    if (after.nextElementSibling !== c.el) after.after(c.el);
    return c;
  }

  async function refresh() {
    try {
      const r = await fetch('api/sources', {headers: {Accept: 'application/json'}, cache: 'no-store'});
      if (!r.ok) return;
      const body = await r.json();
      body.sources.filter(s => !s.params && cards.has(s.id)).forEach(s => status(s));
      body.sources.filter(s => s.params && templates.has(s.id)).forEach(template);
      totals(body.totals);
    } catch (e) {
      // the connection indicator tells; the next round tries again
    }
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
    let shapes;
    try {
      const r = await fetch('api/sources', {headers: {Accept: 'application/json'}, cache: 'no-store'});
      if (!r.ok) throw new Error('HTTP ' + r.status);
      const body = await r.json();
      list = body.sources.filter(s => !s.params);
      shapes = body.sources.filter(s => s.params); // parametrised sources: a card each, and one per live instance
      totals(body.totals);
    } catch (e) {
      setConnection('reconnecting', 'reconnecting…');
      message('Cannot list the sources (' + e.message + '); retrying.');
      setTimeout(start, 5000);
      return;
    }
    message(list.length || shapes.length ? '' : 'No sources are configured.');
    const ids = new Set(list.map(s => s.id));
    const tids = new Set(shapes.map(t => t.id));
    for (const [id, c] of cards) {
      if (c.of ? !tids.has(c.of) : !ids.has(id)) {
        c.el.remove();
        cards.delete(id);
      }
    }
    for (const [id, tc] of templates) {
      if (!tids.has(id)) {
        tc.el.remove();
        templates.delete(id);
      }
    }
    for (const s of list) {
      $('.origin', card(s).el).textContent = origin(s);
      apply(s, false);
      status(s);
    }
    shapes.forEach(template);
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
  setInterval(refresh, 2000);
  start();
})();

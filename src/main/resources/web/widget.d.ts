/**
 * Type declarations for the aggregator's widget.js (served beside it at /widget.d.ts). The script is plain ES5 and
 * needs no build step; these types are for pages written in TypeScript:
 *
 *   /// <reference path="./widget.d.ts" />
 *   window.aggregatorWidget?.scan();
 */

/** The envelope of one source, or of one field of it (`data-field`): what an `aggregator:update` event carries. */
export interface AggregatorEnvelope {
  /**
   * The source id; for a field, `source/pointer` (e.g. `demo-ticker/price`). For an instance of a parametrised source,
   * the template's id (`demo-quote`, or `demo-quote/price` for a field of it).
   */
  id: string;
  /** An instance's parameters, by name (`{"symbol": "ACME"}`); absent for a plain source. */
  params?: Record<string, string>;
  /**
   * An instance's canonical name, as on the multiplexed stream: parameters in name order, values percent-encoded
   * (`demo-quote(symbol=ACME)`, `demo-quote(symbol=ACME)/price` for a field); absent for a plain source.
   */
  instance?: string;
  /** Goes up exactly when the data changes; for a field, the source version at which the value last changed. */
  version: number;
  /** ISO-8601 time of the last successful fetch. */
  fetchedAt: string | null;
  /** ISO-8601 time the data last changed. */
  changedAt: string | null;
  /** True while the upstream fails; the data is then the last good data. */
  stale: boolean;
  /** The short reason of the last failure, while stale. */
  error?: string;
  /** The data (the source's, or the field's value; null when the field is missing). */
  data: unknown;
}

/** The page-wide controller the widget installs as `window.aggregatorWidget`. */
export interface AggregatorWidget {
  /** Picks up elements with `data-source` added to the page since the last scan; the stream reopens with its cursor. */
  scan(): void;
  /**
   * Stops updating `element` (its stream is narrowed to the rest), or, without an argument, everything: every stream
   * is closed and every poll stopped. `scan()` starts again.
   */
  stop(element?: Element): void;
}

/** The attributes the widget reads from, and writes to, an element. */
export interface AggregatorWidgetAttributes {
  /**
   * Read: the source id (required), or an instance of a parametrised source written `template(name=value;...)` with
   * percent-encoded values (`demo-quote(symbol=ACME)`).
   */
  'data-source': string;
  /**
   * Read: an instance's parameters as a query string (`symbol=ACME`, `city=NYC&units=metric`; values may be
   * percent-encoded), with `data-source` naming the template. Parameters left out take the template's defaults.
   */
  'data-params'?: string;
  /** Read: a JSON Pointer (`/price`) or a dotted path (`price`); only that field is followed. */
  'data-field'?: string;
  /** Read: the polling period in seconds when streaming is not possible (default 30, at least 1). */
  'data-poll-seconds'?: string;
  /** Read: an access token for a source marked `access: token` (sent as the `access_token` query parameter). */
  'data-token'?: string;
  /** Written: the version shown. */
  'data-version'?: string;
  /** Written: `"true"` while the source is stale. */
  'data-stale'?: 'true' | 'false';
  /** Written: how the element is kept current. */
  'data-mode'?: 'sse' | 'poll';
  /**
   * Written: why the element shows nothing (`no source "id"`, `access token missing or not valid`, the service's
   * reason for a refused parameter such as `parameter "symbol" must match [A-Z]{1,5}`, a malformed `data-source` or
   * `data-params`, ...).
   */
  'data-error'?: string;
}

/** The DOM event dispatched on an element each time it shows a new value. */
export type AggregatorUpdateEvent = CustomEvent<AggregatorEnvelope>;

declare global {
  interface Window {
    /** Present once widget.js has run. */
    aggregatorWidget?: AggregatorWidget;
  }
  interface HTMLElementEventMap {
    'aggregator:update': AggregatorUpdateEvent;
  }
}

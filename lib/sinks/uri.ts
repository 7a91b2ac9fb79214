/**
 * Destinations by URI, and the sink for each: kept for the modules that import them from here. The URIs,
 * the choice of backend and the sinks are the backend modules' (`lib/backends/`).
 * @module
 */
export {
  checkTarget,
  childTarget,
  createSink,
  formatTarget,
  parseTarget,
  type SinkOptions,
  type Target,
} from '../backends/index.js';

// Package promlameduck exports a lameduck App's shutdown to Prometheus and
// makes sure the last values reach the monitoring system before the process
// exits.
//
// A service that drains perfectly can still lie about it: Prometheus scrapes
// every N seconds, so whatever happened between the last scrape and the exit
// — often exactly the requests of the shutdown — is never recorded. New
// registers the App's metrics, mounts /metrics on the admin server and adds
// a flush hook that, in the Flushing phase (after every request and task
// has finished), makes the final values visible:
//
//   - FinalScrape (the default): wait, within the Flushing budget, until
//     /metrics has been scraped once more by a scrape that started after
//     Flushing began. The admin server stays up until the end of Closing,
//     so the scraper can still reach it.
//   - FinalPush: push the final values to a Prometheus Pushgateway
//     (the default when a Pushgateway URL is configured).
//   - FinalNone: do nothing; the last scrape interval is lost.
//
// The choice is Options.Final, overridden by $LAMEDUCK_METRICS_FINAL.
//
// The metrics (namespace "lameduck"):
//
//	lameduck_phase{phase}                       1 for the current phase, 0 for the others
//	lameduck_phase_duration_seconds{phase}      time spent in each finished phase
//	lameduck_inflight_requests                  requests inside the App's handlers
//	lameduck_tasks_running                      tracked background tasks running
//	lameduck_tasks_completed_total              tracked tasks that returned
//	lameduck_requests_served_draining_total     requests that arrived while Draining
//	lameduck_requests_drained_total             requests that finished after Stopping began
//	lameduck_requests_refused_total             requests refused with 503 while Stopping
//	lameduck_requests_cut_total                 requests still running at the Stopping deadline
//	lameduck_tasks_cut_total                    tasks still running at the Stopping deadline
//
// They are read from App.Stats at scrape time, so they cost nothing per
// request. The standard HTTP server metrics (http_requests_total and the
// http_request_duration_seconds histogram, by handler, method and code) are
// opt-in, per handler, with Metrics.InstrumentHandler.
//
// The package never changes the core library: the lameduck package itself
// does not import Prometheus.
package promlameduck

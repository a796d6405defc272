/* status_view: the /status fragment. See status_view.h. */
#include "status_view.h"

#include <stdio.h>

void status_view_chart(struct buf *out, const char *id, const char *title,
                       const double *v, size_t n)
{
    double max = 0;
    for (size_t i = 0; i < n; i++)
        if (v[i] > max)
            max = v[i];
    buf_appendf(out, "<svg id=\"%s\" class=\"chart\" viewBox=\"0 0 %d %d\" "
                "role=\"img\" aria-label=\"%s\"><title>%s</title>"
                "<line class=\"axis\" x1=\"0\" y1=\"%d\" x2=\"%d\" y2=\"%d\" "
                "stroke=\"currentColor\" stroke-opacity=\"0.3\"/>",
                id, STATUS_CHART_W, STATUS_CHART_H, title, title,
                STATUS_CHART_H - 1, STATUS_CHART_W, STATUS_CHART_H - 1);
    if (n > 0) {
        buf_append_str(out, "<polyline fill=\"none\" stroke=\"currentColor\" "
                            "stroke-width=\"1.5\" points=\"");
        for (size_t i = 0; i < n; i++) {
            double x = n == 1 ? STATUS_CHART_W
                              : (double)i * STATUS_CHART_W / (double)(n - 1);
            double y = STATUS_CHART_H - 2 -
                       (max > 0 ? v[i] / max * (STATUS_CHART_H - 12) : 0);
            buf_appendf(out, "%s%.1f,%.1f", i ? " " : "", x, y);
        }
        buf_append_str(out, "\"/>");
    }
    buf_appendf(out, "<text x=\"2\" y=\"9\" font-size=\"9\" "
                "fill=\"currentColor\">max %.0f</text></svg>", max);
}

static void status_view_bytes(struct buf *out, long long bytes)
{
    if (bytes < 0)
        buf_append_str(out, "?");
    else
        buf_appendf(out, "%.1f MiB", (double)bytes / (1024.0 * 1024.0));
}

void status_view_render(struct buf *out, const struct status_numbers *num,
                        const struct status_process *procs, size_t nprocs,
                        const double *subscribers, const double *deliveries,
                        size_t n, unsigned sample_s)
{
    buf_append_str(out, "<div id=\"status-live\">\n<dl class=\"status-numbers\">\n");
    buf_appendf(out, "<dt>Stream processes</dt><dd id=\"st-processes\">%zu</dd>\n",
                num->processes);
    buf_appendf(out, "<dt>Connections</dt><dd id=\"st-connections\">%llu</dd>\n",
                (unsigned long long)num->connections);
    buf_appendf(out, "<dt>Subscribers</dt><dd id=\"st-subscribers\">%llu</dd>\n",
                (unsigned long long)num->subscribers);
    buf_appendf(out, "<dt>Demo streams</dt><dd id=\"st-demo\">%llu</dd>\n",
                (unsigned long long)num->demo_streams);
    buf_appendf(out, "<dt>Deliveries/s (5 s)</dt><dd id=\"st-deliveries\">%.1f</dd>\n",
                num->deliveries_per_s);
    buf_appendf(out, "<dt>Publishes/s (5 s)</dt><dd id=\"st-publishes\">%.1f</dd>\n",
                num->publishes_per_s);
    if (num->fanout_p99_us)
        buf_appendf(out, "<dt>Fan-out p99 (1 min)</dt><dd id=\"st-fanout\">"
                    "&le; %.1f ms</dd>\n", (double)num->fanout_p99_us / 1000.0);
    else
        buf_append_str(out, "<dt>Fan-out p99 (1 min)</dt><dd id=\"st-fanout\">"
                            "none</dd>\n");
    buf_appendf(out, "<dt>Broker</dt><dd id=\"st-broker\">%s, %s</dd>\n",
                num->broker_kind, num->broker_up ? "up" : "DOWN");
    buf_appendf(out, "<dt>Store queue</dt><dd id=\"st-store\">%llu</dd>\n",
                (unsigned long long)num->store_pending);
    buf_appendf(out, "<dt>Delivered / published (total)</dt><dd "
                "id=\"st-totals\">%llu / %llu</dd>\n</dl>\n",
                (unsigned long long)num->delivered_total,
                (unsigned long long)num->published_total);
    buf_appendf(out, "<figure><figcaption>Subscribers, last %zu s</figcaption>",
                n * sample_s);
    status_view_chart(out, "chart-subscribers", "Subscribers", subscribers, n);
    buf_appendf(out, "</figure>\n<figure><figcaption>Deliveries/s, last %zu s"
                "</figcaption>", n * sample_s);
    status_view_chart(out, "chart-deliveries", "Deliveries per second",
                      deliveries, n);
    buf_append_str(out, "</figure>\n<table class=\"status-procs\">\n"
                        "<thead><tr><th>pid</th><th>kind</th><th>connections"
                        "</th><th>subscribers</th><th>RSS</th></tr></thead>\n"
                        "<tbody>\n");
    for (size_t i = 0; i < nprocs; i++) {
        buf_appendf(out, "<tr><td>%lld</td><td>%s</td><td>%llu</td><td>%llu"
                    "</td><td>", procs[i].pid, procs[i].cgi ? "CGI" : "FastCGI",
                    (unsigned long long)procs[i].connections,
                    (unsigned long long)procs[i].subscribers);
        status_view_bytes(out, procs[i].rss_bytes);
        buf_append_str(out, "</td></tr>\n");
    }
    buf_append_str(out, "</tbody>\n</table>\n</div>");
}

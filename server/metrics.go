package server

import (
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
)

// metrics are the server's Prometheus series, on a registry of its own so
// that several servers can live in one process (tests, the app).
type metrics struct {
	registry      *prometheus.Registry
	connections   prometheus.Gauge
	packetsIn     prometheus.Counter
	packetsOut    prometheus.Counter
	queueDrops    prometheus.Counter
	commitSeconds prometheus.Histogram
	commitBatch   prometheus.Histogram
	errors        *prometheus.CounterVec
	slowConsumers *prometheus.CounterVec
}

func newMetrics() *metrics {
	m := &metrics{
		registry: prometheus.NewRegistry(),
		connections: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "parley_connections", Help: "Open WebSocket connections.",
		}),
		packetsIn: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "parley_packets_in_total", Help: "Audio packets received from talkers.",
		}),
		packetsOut: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "parley_packets_out_total", Help: "Audio packets queued to listeners (live and fetch).",
		}),
		queueDrops: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "parley_fanout_queue_drops_total", Help: "Connections closed because their outgoing queue overflowed.",
		}),
		commitSeconds: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name: "parley_store_commit_seconds", Help: "Latency of packet commits to the store.",
			Buckets: prometheus.ExponentialBuckets(0.0005, 2, 14),
		}),
		commitBatch: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name: "parley_store_commit_packets", Help: "Packets per store commit.",
			Buckets: prometheus.ExponentialBuckets(1, 2, 12),
		}),
		errors: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "parley_errors_total", Help: "Typed errors sent to clients, by code.",
		}, []string{"code"}),
		slowConsumers: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "parley_slow_consumers_total",
			Help: "Connections closed as slow consumers, by how it showed: queue (outgoing queue full), lag (a lag probe unanswered for SlowConsumerAfter), write (a write blocked that long).",
		}, []string{"reason"}),
	}
	m.registry.MustRegister(m.connections, m.packetsIn, m.packetsOut, m.queueDrops, m.commitSeconds, m.commitBatch, m.errors, m.slowConsumers,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return m
}

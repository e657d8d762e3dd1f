package hj212gw

import (
	"sync/atomic"

	"github.com/prometheus/client_golang/prometheus"
)

// Stats are the server's counters since New.
type Stats struct {
	Open          int64 // connections open now
	Accepted      int64 // connections accepted
	Refused       int64 // connections closed at accept: the connection cap was reached
	Frames        int64 // frames that passed length and CRC checks
	Delivered     int64 // data messages the Sink took
	Replies       int64 // packets written (9011, 9013, 9014 answers; 1012 clock settings)
	BadCRC        int64 // frames whose CRC did not match
	BadLength     int64 // "##" not followed by a frame of the stated length
	BadSegment    int64 // frames whose data segment did not read (Table 3)
	BadData       int64 // data uploads whose data area did not read or had no DataTime
	Oversize      int64 // connections closed for a frame above MaxFrame
	Garbage       int64 // bytes discarded between frames
	WrongPassword int64 // frames with a wrong PW (connection closed)
	UnknownDevice int64 // frames from an MN the gateway does not know (connection closed)
	UnknownCN     int64 // frames with a command the gateway does not handle
	Unmapped      int64 // data the Sink refused with gateway.ErrUnknownDevice
	SinkErrors    int64 // data the Sink failed to take otherwise
	Answers       int64 // 9011/9012/9013/9014 from devices
	Notices       int64 // 1013 clock requests and 2081 restart notices
	SplitDropped  int64 // incomplete split messages dropped (timeout, connection end)
	SplitRefused  int64 // split parts refused (limits, budget)
	Idle          int64 // connections closed after IdleTimeout without a byte
	Stalled       int64 // connections closed with a frame begun and not finished in FrameTimeout
	Truncated     int64 // connections ended by the peer inside a frame
}

type counters struct {
	accepted, refused, frames, delivered, replies, badCRC, badLength, badSegment, badData, oversize, garbage,
	wrongPassword, unknownDevice, unknownCN, unmapped, sinkErrors, answers, notices, splitDropped, splitRefused,
	idle, stalled, truncated atomic.Int64
}

// Stats returns the counters.
func (s *Server) Stats() Stats {
	n := &s.n
	return Stats{Open: s.open.Load(), Accepted: n.accepted.Load(), Refused: n.refused.Load(), Frames: n.frames.Load(),
		Delivered: n.delivered.Load(), Replies: n.replies.Load(), BadCRC: n.badCRC.Load(), BadLength: n.badLength.Load(),
		BadSegment: n.badSegment.Load(), BadData: n.badData.Load(), Oversize: n.oversize.Load(), Garbage: n.garbage.Load(),
		WrongPassword: n.wrongPassword.Load(), UnknownDevice: n.unknownDevice.Load(), UnknownCN: n.unknownCN.Load(),
		Unmapped: n.unmapped.Load(), SinkErrors: n.sinkErrors.Load(), Answers: n.answers.Load(), Notices: n.notices.Load(),
		SplitDropped: n.splitDropped.Load(), SplitRefused: n.splitRefused.Load(), Idle: n.idle.Load(),
		Stalled: n.stalled.Load(), Truncated: n.truncated.Load()}
}

// collector exposes Stats as Prometheus metrics: shuixiao_hj212_connections (gauge),
// shuixiao_hj212_connections_total{result}, shuixiao_hj212_frames_total{result},
// shuixiao_hj212_garbage_bytes_total, shuixiao_hj212_replies_total.
type collector struct{ s *Server }

var (
	descOpen    = prometheus.NewDesc("shuixiao_hj212_connections", "HJ 212 device connections open now.", nil, nil)
	descConns   = prometheus.NewDesc("shuixiao_hj212_connections_total", "HJ 212 connections by how they were accepted or ended.", []string{"result"}, nil)
	descFrames  = prometheus.NewDesc("shuixiao_hj212_frames_total", "HJ 212 frames and data messages by outcome.", []string{"result"}, nil)
	descGarbage = prometheus.NewDesc("shuixiao_hj212_garbage_bytes_total", "Bytes discarded between HJ 212 frames.", nil, nil)
	descReplies = prometheus.NewDesc("shuixiao_hj212_replies_total", "Answers (9011, 9014) written to devices.", nil, nil)
)

func (c collector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{descOpen, descConns, descFrames, descGarbage, descReplies} {
		ch <- d
	}
}

func (c collector) Collect(ch chan<- prometheus.Metric) {
	st := c.s.Stats()
	ch <- prometheus.MustNewConstMetric(descOpen, prometheus.GaugeValue, float64(st.Open))
	ch <- prometheus.MustNewConstMetric(descGarbage, prometheus.CounterValue, float64(st.Garbage))
	ch <- prometheus.MustNewConstMetric(descReplies, prometheus.CounterValue, float64(st.Replies))
	for result, v := range map[string]int64{"accepted": st.Accepted, "refused_cap": st.Refused, "idle": st.Idle,
		"stalled": st.Stalled, "truncated": st.Truncated, "oversize": st.Oversize} {
		ch <- prometheus.MustNewConstMetric(descConns, prometheus.CounterValue, float64(v), result)
	}
	for result, v := range map[string]int64{"checked": st.Frames, "delivered": st.Delivered, "bad_crc": st.BadCRC,
		"bad_length": st.BadLength, "bad_segment": st.BadSegment, "bad_data": st.BadData, "wrong_password": st.WrongPassword,
		"unknown_device": st.UnknownDevice, "unknown_cn": st.UnknownCN, "unmapped": st.Unmapped, "sink_error": st.SinkErrors,
		"device_answer": st.Answers, "notice": st.Notices, "split_dropped": st.SplitDropped, "split_refused": st.SplitRefused} {
		ch <- prometheus.MustNewConstMetric(descFrames, prometheus.CounterValue, float64(v), result)
	}
}

package hj212

import (
	"strconv"
	"strings"
	"time"
)

// Command codes of Table 9 a platform answers with or receives most.
const (
	CNSetTime      = "1012" // set the data logger's clock (上位机 → 现场机 request)
	CNTimeRequest  = "1013" // the data logger asks for its clock to be set (现场机 → 上位机 notice)
	CNRealtime     = "2011" // real-time data
	CNDeviceStatus = "2021" // treatment equipment running state
	CNDay          = "2031" // daily data
	CNDeviceDay    = "2041" // equipment running time, daily
	CNMinute       = "2051" // minute data
	CNHour         = "2061" // hourly data
	CNRestart      = "2081" // data logger restart time
	CNRequestReply = "9011" // request answer (QnRtn)
	CNExecResult   = "9012" // execution result (ExeRtn)
	CNNotifyReply  = "9013" // notification answer
	CNDataReply    = "9014" // data answer
)

// STSystem is the system code of system interaction packets (Table 5: 91 系统交互).
const STSystem = "91"

// QnRtn codes of Table 7 (request answer 9011).
const (
	QnReady      = 1   // 准备执行请求
	QnRefused    = 2   // 请求被拒绝
	QnBadPW      = 3   // PW 错误
	QnBadMN      = 4   // MN 错误
	QnBadST      = 5   // ST 错误
	QnBadFlag    = 6   // Flag 错误
	QnBadQN      = 7   // QN 错误
	QnBadCN      = 8   // CN 错误
	QnBadCRC     = 9   // CRC 校验错误
	QnUnknownErr = 100 // 未知错误
)

// ExeRtn codes of Table 6 (execution result 9012).
const (
	ExeOK      = 1   // 执行成功
	ExeFailed  = 2   // 执行失败，但不知道原因
	ExeBadCond = 3   // 命令请求条件错误
	ExeTimeout = 4   // 通讯超时
	ExeBusy    = 5   // 系统繁忙不能执行
	ExeFault   = 6   // 系统故障
	ExeNoData  = 100 // 没有数据
)

// answer is a system-interaction packet answering req: the same QN, PW and MN, ST 91, and a Flag
// of the request's version that asks for no answer (an answer is not answered).
func answer(req Packet, cn, cp string) Packet {
	v := Flag(Version2017 << 2)
	if req.HasFlag {
		v = Flag(req.Flag.Version() << 2)
	}
	return Packet{QN: req.QN, ST: STSystem, CN: cn, PW: req.PW, MN: req.MN, Flag: v, HasFlag: true, CP: cp}
}

// DataReply is the data answer (9014) to an upload whose Flag asks for one (bit A), e.g.
// QN=…;ST=91;CN=9014;PW=…;MN=…;Flag=4;CP=&&&& (Appendix C).
func DataReply(req Packet) Packet { return answer(req, CNDataReply, "") }

// RequestReply is the request answer (9011) with a QnRtn of Table 7: QnReady to accept a
// request, the others to refuse it and say why.
func RequestReply(req Packet, qnRtn int) Packet {
	return answer(req, CNRequestReply, "QnRtn="+strconv.Itoa(qnRtn))
}

// ExecReply is the execution result (9012) with an ExeRtn of Table 6.
func ExecReply(req Packet, exeRtn int) Packet {
	return answer(req, CNExecResult, "ExeRtn="+strconv.Itoa(exeRtn))
}

// NotifyReply is the notification answer (9013) to a notice whose Flag asks for one.
func NotifyReply(req Packet) Packet { return answer(req, CNNotifyReply, "") }

// SetTime is the request (1012) a platform sends a data logger that asked for its clock to be set
// (1013): SystemTime is now in Beijing time, PolId the one the request named, if any; the data
// logger answers 9011 and 9012, so Flag asks for an answer.
func SetTime(req Packet, now time.Time) Packet {
	cp := "SystemTime=" + FormatTime(now)
	for item := range strings.SplitSeq(req.CP, ";") {
		if id, ok := strings.CutPrefix(item, "PolId="); ok && !strings.ContainsAny(id, ",;&=") {
			cp = "PolId=" + id + ";" + cp
		}
	}
	v := Flag(Version2017 << 2)
	if req.HasFlag {
		v = Flag(req.Flag.Version() << 2)
	}
	return Packet{QN: FormatQN(now), ST: req.ST, CN: CNSetTime, PW: req.PW, MN: req.MN, Flag: v | FlagAck, HasFlag: true, CP: cp}
}

// IsData reports whether cn is an upload of monitoring data the platform stores: real-time,
// minute, hour and day data and the equipment state and running-time records.
func IsData(cn string) bool {
	switch cn {
	case CNRealtime, CNDeviceStatus, CNDay, CNDeviceDay, CNMinute, CNHour:
		return true
	}
	return false
}

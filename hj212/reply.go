package hj212

import "strconv"

// Command codes of Table 9 a platform answers with or receives most.
const (
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

// IsData reports whether cn is an upload of monitoring data the platform stores: real-time,
// minute, hour and day data and the equipment state and running-time records.
func IsData(cn string) bool {
	switch cn {
	case CNRealtime, CNDeviceStatus, CNDay, CNDeviceDay, CNMinute, CNHour:
		return true
	}
	return false
}

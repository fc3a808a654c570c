package eventlog

// Reversal is what a reversal's event adds to its transaction's payload.
type Reversal struct {
	OriginalAmount int64
	ReversedAmount int64
	Reason         string
}

// AppendTxnReversal appends the stored form of a reversal's event: its
// data as JSON, byte for byte what AppendJSON stores for the payload's
// Map() with originalAmount, reversedAmount and reason added, without the
// map and the reflection that encoding it costs.
func AppendTxnReversal(dst []byte, createdAt int64, typ string, p *TxnPayload, rv Reversal) []byte {
	dst = appendHeader(dst, createdAt, typ)
	dst = append(dst, dataJSON)
	return p.appendJSON(dst, &rv)
}

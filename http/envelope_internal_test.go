package http

import (
	"bytes"
	"encoding/json"
	"testing"
)

// TestSuccessBodyIsMarshal: an answer already encoded (a rendered page) is
// sent byte for byte as if the envelope had been marshalled around it.
func TestSuccessBodyIsMarshal(t *testing.T) {
	for _, data := range []string{
		`{"methods":[],"defaultMethodId":""}`,
		`{"invoices":[{"orderId":"in_1","hostedInvoiceUrl":"https://a.test/x?a=1\u0026b=\u003c"}],"hasMore":true}`,
		`null`,
	} {
		want, err := json.Marshal(envelope{Code: 0, Data: json.RawMessage(data), Message: "success"})
		if err != nil {
			t.Fatal(err)
		}
		if got := successBody(json.RawMessage(data)); !bytes.Equal(got, want) {
			t.Errorf("successBody(%s)\n = %s\nwant %s", data, got, want)
		}
	}
}

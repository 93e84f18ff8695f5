package sandbox

import (
	"bytes"
	"fmt"
	"net/http"
	"strings"
	"time"
)

// The invoice's hosted_invoice_url and invoice_pdf lead here: a simple HTML
// page and a minimal valid PDF, both labelled as the sandbox's.

type invoicePageData struct {
	ID, Number, Status, Email, Created string
	AmountDue, AmountPaid, PaidAt      string
	PDFURL                             string
	Lines                              []invoicePageLine
}

type invoicePageLine struct {
	Description, Period, Amount string
	Quantity                    int64
}

func day(unix int64) string { return time.Unix(unix, 0).UTC().Format("2 Jan 2006") }

// invoiceData loads invoice id for a page, or says why not.
func (s *Sandbox) invoiceData(id string) (invoicePageData, bool) {
	hash, ok := s.findAccount(func(a *account) bool { _, ok := a.Invoices.get(id); return ok })
	if !ok {
		return invoicePageData{}, false
	}
	var d invoicePageData
	found := false
	s.run(hash, func(t *tx) {
		in, _ := t.a.Invoices.get(id)
		if in.Status == invDraft {
			return
		}
		found = true
		d = invoicePageData{
			ID: in.ID, Number: deref(in.Number), Status: in.Status, Email: deref(in.CustomerEmail), Created: day(in.Created),
			AmountDue: formatAmount(in.AmountDue, in.Currency), AmountPaid: formatAmount(in.AmountPaid, in.Currency),
			PDFURL: s.cfg.BaseURL + "/invoices/" + in.ID + "/pdf",
		}
		if in.StatusTransitions.PaidAt != nil {
			d.PaidAt = day(*in.StatusTransitions.PaidAt)
		}
		for _, l := range in.Lines.Data {
			d.Lines = append(d.Lines, invoicePageLine{Description: deref(l.Description),
				Period: day(l.Period.Start) + " – " + day(l.Period.End), Amount: formatAmount(l.Amount, l.Currency), Quantity: l.Quantity})
		}
	})
	return d, found
}

// invoicePage is GET /invoices/{id}.
func (s *Sandbox) invoicePage(w http.ResponseWriter, r *http.Request) {
	d, ok := s.invoiceData(r.PathValue("id"))
	if !ok {
		s.writeMessage(w, http.StatusNotFound, "No such invoice", "This invoice link is not one the sandbox knows.")
		return
	}
	s.writePage(w, http.StatusOK, "invoice", d)
}

// invoicePDF is GET /invoices/{id}/pdf.
func (s *Sandbox) invoicePDF(w http.ResponseWriter, r *http.Request) {
	d, ok := s.invoiceData(r.PathValue("id"))
	if !ok {
		s.writeMessage(w, http.StatusNotFound, "No such invoice", "This invoice link is not one the sandbox knows.")
		return
	}
	lines := []string{
		"AppWheel Stripe sandbox - for development and tests only. NOT A REAL INVOICE.",
		"",
		"Invoice " + d.Number + "    Status: " + d.Status,
		"From: AppWheel Sandbox",
		"To: " + d.Email,
		"Issued: " + d.Created,
		"",
	}
	for _, l := range d.Lines {
		lines = append(lines, fmt.Sprintf("%s   %s   %s", l.Description, l.Period, l.Amount))
	}
	lines = append(lines, "", "Amount due: "+d.AmountDue, "Amount paid: "+d.AmountPaid)
	if d.PaidAt != "" {
		lines = append(lines, "Paid: "+d.PaidAt)
	}
	lines = append(lines, "", "Invoice ID: "+d.ID)
	w.Header().Set("Content-Type", "application/pdf")
	w.Header().Set("Content-Disposition", `inline; filename="`+d.ID+`.pdf"`)
	w.Write(textPDF(lines))
}

// textPDF is a one-page PDF 1.4 showing lines in Helvetica: the smallest
// valid PDF a viewer opens, with a correct cross-reference table.
func textPDF(lines []string) []byte {
	var content bytes.Buffer
	content.WriteString("BT /F1 11 Tf 50 790 Td 15 TL\n")
	for _, l := range lines {
		content.WriteString("(" + pdfEscape(l) + ") Tj T*\n")
	}
	content.WriteString("ET\n")

	objs := []string{
		"<< /Type /Catalog /Pages 2 0 R >>",
		"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
		"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Resources << /Font << /F1 4 0 R >> >> /Contents 5 0 R >>",
		"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding /WinAnsiEncoding >>",
		fmt.Sprintf("<< /Length %d >>\nstream\n%sendstream", content.Len(), content.String()),
	}
	var out bytes.Buffer
	out.WriteString("%PDF-1.4\n%\xe2\xe3\xcf\xd3\n")
	offsets := make([]int, len(objs))
	for i, o := range objs {
		offsets[i] = out.Len()
		fmt.Fprintf(&out, "%d 0 obj\n%s\nendobj\n", i+1, o)
	}
	xref := out.Len()
	fmt.Fprintf(&out, "xref\n0 %d\n0000000000 65535 f \n", len(objs)+1)
	for _, off := range offsets {
		fmt.Fprintf(&out, "%010d 00000 n \n", off)
	}
	fmt.Fprintf(&out, "trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n", len(objs)+1, xref)
	return out.Bytes()
}

// pdfEscape makes s a PDF string literal's content, in WinAnsi: ASCII as
// is, a few common symbols mapped, anything else as '?'.
func pdfEscape(s string) string {
	var b strings.Builder
	for _, r := range s {
		switch {
		case r == '(' || r == ')' || r == '\\':
			b.WriteByte('\\')
			b.WriteRune(r)
		case r >= 32 && r < 127:
			b.WriteRune(r)
		case r == '€':
			b.WriteString(`\200`)
		case r == '£':
			b.WriteString(`\243`)
		case r == '¥':
			b.WriteString(`\245`)
		case r == '×':
			b.WriteString(`\327`)
		case r == '–':
			b.WriteString(`\226`)
		default:
			b.WriteByte('?')
		}
	}
	return b.String()
}

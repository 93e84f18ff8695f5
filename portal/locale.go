package portal

import (
	"embed"
	"encoding/json"
	"fmt"
	"math"
	"strings"
	"time"

	"golang.org/x/text/currency"
	"golang.org/x/text/language"
	"golang.org/x/text/message"
	"golang.org/x/text/number"
)

// The page's languages. Every string the page shows is in one catalog per
// language (locales/*.json, the same keys in each: TestCatalogsMatch); the
// page is in the session's locale, else the one the browser prefers, else
// English.

//go:embed locales/*.json
var localeFS embed.FS

// locale is one language of the page.
type locale struct {
	name    string // as sessions name it and the page's lang attribute says
	tag     language.Tag
	strings map[string]string
	printer *message.Printer
	// dateLayout formats a day, monthLayout a card's expiry.
	dateLayout string
}

var (
	locales = []*locale{
		loadLocale("en", language.English, "Jan 2, 2006"),
		loadLocale("zh-CN", language.SimplifiedChinese, "2006年1月2日"),
	}
	matcher = language.NewMatcher([]language.Tag{language.English, language.SimplifiedChinese})
)

func loadLocale(name string, tag language.Tag, dateLayout string) *locale {
	b, err := localeFS.ReadFile("locales/" + name + ".json")
	if err != nil {
		panic(err)
	}
	l := &locale{name: name, tag: tag, printer: message.NewPrinter(tag), dateLayout: dateLayout}
	if err := json.Unmarshal(b, &l.strings); err != nil {
		panic(fmt.Sprintf("portal: locales/%s.json: %v", name, err))
	}
	return l
}

// exactLocale returns the name of the page's locale called s (any case).
func exactLocale(s string) (string, bool) {
	for _, l := range locales {
		if strings.EqualFold(s, l.name) {
			return l.name, true
		}
	}
	return "", false
}

// localeNames lists the locales, for error messages.
func localeNames() string {
	names := make([]string, len(locales))
	for i, l := range locales {
		names[i] = l.name
	}
	return strings.Join(names, ", ")
}

// pickLocale is the session's locale when it names one, else the best
// match for the browser's Accept-Language, else English.
func pickLocale(session, acceptLanguage string) *locale {
	for _, l := range locales {
		if l.name == session {
			return l
		}
	}
	tags, _, err := language.ParseAcceptLanguage(acceptLanguage)
	if err != nil || len(tags) == 0 {
		return locales[0]
	}
	_, i, confidence := matcher.Match(tags...)
	if confidence == language.No {
		return locales[0]
	}
	return locales[i]
}

// text is the catalog's string key, with args in its %[n] verbs. A key
// missing from the catalog shows as itself (the tests render every string
// in both languages, so none is).
func (l *locale) text(key string, args ...any) string {
	s, ok := l.strings[key]
	if !ok {
		return key
	}
	if len(args) == 0 {
		return s
	}
	return l.printer.Sprintf(s, args...)
}

// date formats a Unix time (seconds) as a day, in UTC: Stripe's periods
// and charges are instants, and the page does not know the user's zone.
func (l *locale) date(unix int64) string {
	if unix <= 0 {
		return ""
	}
	return time.Unix(unix, 0).UTC().Format(l.dateLayout)
}

// money formats an amount in the currency's minor units (Stripe's) for the
// locale: symbol and grouped digits, with the currency's decimals.
func (l *locale) money(minor int64, cur string) string {
	unit, err := currency.ParseISO(cur)
	if err != nil {
		return fmt.Sprintf("%d %s", minor, strings.ToUpper(cur))
	}
	scale, _ := currency.Standard.Rounding(unit)
	amount := float64(minor) / math.Pow10(scale)
	return l.printer.Sprint(currency.Symbol(unit)) + l.printer.Sprint(number.Decimal(amount, number.Scale(scale)))
}

// textOr is the catalog's string key, or fallback when the catalog has
// none: for Stripe's values the catalog may not know yet (a new status, an
// unusual period), shown as Stripe names them.
func (l *locale) textOr(key, fallback string) string {
	if s, ok := l.strings[key]; ok {
		return s
	}
	return fallback
}

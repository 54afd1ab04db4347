package web

import (
	"strconv"
	"strings"
)

// minorDigits are the ISO 4217 currencies whose minor unit is not the
// hundredth; every other code has two decimals.
var minorDigits = map[string]int{
	"JPY": 0, "KRW": 0, "ISK": 0, "CLP": 0, "VND": 0, "XAF": 0, "XOF": 0, "HUF": 2,
	"BHD": 3, "IQD": 3, "JOD": 3, "KWD": 3, "LYD": 3, "OMR": 3, "TND": 3,
}

// currencySymbols are the symbols shown before an amount; other codes are
// shown as "CHF 12.00".
var currencySymbols = map[string]string{"EUR": "€", "USD": "$", "GBP": "£", "JPY": "¥"}

// FormatMoney shows amount minor units of currency ("EUR", 1250) as
// "€12.50", with thousands separated: integer arithmetic only, as money is
// everywhere in the shop.
func FormatMoney(amount int64, currency string) string {
	digits, ok := minorDigits[currency]
	if !ok {
		digits = 2
	}
	neg := amount < 0
	if neg {
		amount = -amount
	}
	unit := int64(1)
	for range digits {
		unit *= 10
	}
	whole := strconv.FormatInt(amount/unit, 10)
	var b strings.Builder
	if neg {
		b.WriteByte('-')
	}
	if sym, ok := currencySymbols[currency]; ok {
		b.WriteString(sym)
	} else {
		b.WriteString(currency + " ")
	}
	for i, c := range whole {
		if i > 0 && (len(whole)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(c)
	}
	if digits > 0 {
		frac := strconv.FormatInt(amount%unit, 10)
		b.WriteByte('.')
		b.WriteString(strings.Repeat("0", digits-len(frac)) + frac)
	}
	return b.String()
}

// priceRange is "€12.50" or, when the variants differ, "€12.50 – €19.00".
func priceRange(lo, hi int64, currency string) string {
	if hi <= lo {
		return FormatMoney(lo, currency)
	}
	return FormatMoney(lo, currency) + " – " + FormatMoney(hi, currency)
}

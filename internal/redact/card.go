package redact

import "bytes"

// Payment card numbers.
//
// Luhn and issuer ranges alone still pass 4% of random 16-digit identifiers
// (Visa alone is a tenth of all numbers), so a card also needs the structure
// real cards have where they are written: the groups of 3-6 digits people
// and payment pages print ("4111 1111 1111 1111", "3782 822463 10005"), or,
// for a run of digits without separators, a card word before it within
// cardContext bytes ("card", "cc", "pan", "credit", "debit", "pay", a
// scheme's name: "visa", "mastercard", "mc", "amex", "discover", "diners",
// "jcb", "unionpay", "maestro", "mir", "rupay"), as keys, labels and URL
// segments carry (card_number=..., "cc": ..., /pay/...). So an order id or a
// stream id stays, and a card anyone labelled is found. The test numbers
// payment providers publish (testBINs: 4111 1111 1111 1111, 4242 4242 4242
// 4242, 5555 5555 5555 4444, 3782 822463 10005, ...), which are what staging
// systems log, need no word: one in a million random ids shares their first
// six digits.
//
// Digits are everywhere in logs (request ids, timestamps, sizes), so the scan
// samples: a card spans at least minCard bytes of digits, spaces and dashes,
// so only every minCard-th byte is looked at until one of those is hit.
// Around a hit, the region of such bytes is cut into digit groups, and from
// each group start the longest run of groups that is a valid card is taken.

const (
	minCard = 13
	maxCard = 19
)

// cardGroup is a run of digits [start, end) and the separator that joins it
// to the next group (0 when none does).
type cardGroup struct {
	start, end int32
	sep        byte
}

func isCardByte(c byte) bool { return '0' <= c && c <= '9' || c == ' ' || c == '-' }

func scanCards(sc *Scratch, s []byte) {
	n := len(s)
	for p := minCard - 1; p < n; {
		if !isCardByte(s[p]) {
			p += minCard
			continue
		}
		a := p
		for a > 0 && isCardByte(s[a-1]) {
			a--
		}
		b := p + 1
		for b < n && isCardByte(s[b]) {
			b++
		}
		if b-a >= minCard {
			cardRegion(sc, s, a, b)
		}
		// The next candidate starts after s[b], so its minCard-th byte is at
		// b+minCard or later.
		p = b + minCard
	}
}

// cardRegion judges the region s[a:b] of digits, spaces and dashes.
func cardRegion(sc *Scratch, s []byte, a, b int) {
	g := sc.groups[:0]
	for p := a; p < b; {
		if !isDigit(s[p]) {
			p++
			continue
		}
		q := p
		for q < b && isDigit(s[q]) {
			q++
		}
		var sep byte
		if q+1 < b && isDigit(s[q+1]) {
			sep = s[q]
		}
		g = append(g, cardGroup{int32(p), int32(q), sep})
		p = q
	}
	sc.groups = g

	for i := 0; i < len(g); {
		st := int(g[i].start)
		if st == a && a > 0 && (isAlnum(s[a-1]) || a >= len(hashPrefix) && string(s[a-len(hashPrefix):a]) == hashPrefix) {
			i++
			continue
		}
		best, digits := -1, 0
		for j := i; j < len(g); j++ {
			l := int(g[j].end - g[j].start)
			if j > i {
				if g[j-1].sep == 0 || g[j-1].sep != g[i].sep || !groupLen(l) || !groupLen(int(g[i].end-g[i].start)) {
					break
				}
			}
			digits += l
			if digits > maxCard {
				break
			}
			end := int(g[j].end)
			if digits >= minCard && (end == len(s) || !isAlnum(s[end])) && isCard(s, g[i:j+1], digits) {
				best = j
			}
		}
		if best >= 0 && (best > i || sc.cardKey || testCard(s[st:]) || cardLabelled(s, st)) {
			sc.add(st, int(g[best].end), RuleCreditCard)
			i = best + 1
			continue
		}
		i++
	}
}

// groupLen reports whether a printed group of a card may have l digits.
func groupLen(l int) bool { return 3 <= l && l <= 6 }

// isCard reports whether the digits of groups (n in all) pass Luhn and
// have a known issuer prefix and length.
func isCard(s []byte, groups []cardGroup, n int) bool {
	var d [maxCard]byte
	k := 0
	for _, gr := range groups {
		k += copy(d[k:], s[gr.start:gr.end])
	}
	sum := 0
	for i := n - 1; i >= 0; i-- {
		v := int(d[i] - '0')
		if (n-1-i)%2 == 1 {
			v *= 2
			if v > 9 {
				v -= 9
			}
		}
		sum += v
	}
	return sum%10 == 0 && issuer(d[:n])
}

// issuer reports whether the number d has the prefix and length of a card
// scheme.
func issuer(d []byte) bool {
	n := len(d)
	p1 := int(d[0] - '0')
	p2 := p1*10 + int(d[1]-'0')
	p3 := p2*10 + int(d[2]-'0')
	p4 := p3*10 + int(d[3]-'0')
	switch {
	case p1 == 4: // Visa
		return n == 13 || n == 16 || n == 19
	case 51 <= p2 && p2 <= 55, 2221 <= p4 && p4 <= 2720: // Mastercard
		return n == 16
	case 2200 <= p4 && p4 <= 2204: // Mir
		return n >= 16
	case p2 == 34 || p2 == 37: // American Express
		return n == 15
	case p4 == 6011 || p2 == 65 || 644 <= p3 && p3 <= 649: // Discover
		return n >= 16
	case p2 == 62: // UnionPay
		return n >= 16
	case 3528 <= p4 && p4 <= 3589: // JCB
		return n >= 16
	case 300 <= p3 && p3 <= 305, p4 == 3095, p2 == 36, p2 == 38, p2 == 39: // Diners Club
		return n >= 14
	case p2 == 50, 56 <= p2 && p2 <= 58, p2 == 63, p2 == 67: // Maestro
		return n >= 13
	case p2 == 60, p2 == 81, p2 == 82, p3 == 508, p3 == 353, p3 == 356: // RuPay
		return n >= 16
	}
	return false
}

// cardContext is how far before a run of digits a card word is looked for.
const cardContext = 48

// cardWords are the card words: a word of the context that starts with
// one (or contains "card") labels a card.
var cardWords = [...]string{"card", "cc", "pan", "credit", "debit", "pay", "visa", "master", "mc", "amex",
	"discover", "diners", "jcb", "unionpay", "maestro", "mir", "rupay"}

// cardLabelled reports whether one of the last three words (runs of letters
// and digits that hold a letter; '_', '-', camelCase split them) within
// cardContext bytes before st is a card word.
func cardLabelled(s []byte, st int) bool {
	words := 0
	for e := st; e > 0 && st-e < cardContext && words < 3; {
		// Skip back over non-letters to the end of a word.
		for e > 0 && st-e < cardContext && !isLetter(s[e-1]) {
			e--
		}
		b := e
		for b > 0 && isLetter(s[b-1]) && !(b < e && isUpper(s[b]) && !isUpper(s[b-1])) {
			b--
		}
		if b == e {
			return false
		}
		words++
		if isCardWord(s[b:e]) {
			return true
		}
		e = b
	}
	return false
}

func isLetter(c byte) bool { return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' }
func isUpper(c byte) bool  { return 'A' <= c && c <= 'Z' }

func isCardWord(w []byte) bool {
	var buf [32]byte
	n := copy(buf[:], w)
	for i := range n {
		buf[i] = lower(buf[i])
	}
	lw := buf[:n]
	if bytes.Contains(lw, []byte("card")) {
		return true
	}
	for _, p := range cardWords {
		if bytes.HasPrefix(lw, []byte(p)) {
			return true
		}
	}
	return false
}

// testBINs are the first six digits of the providers' published test cards
// (Stripe, Adyen, Braintree, PayPal).
var testBINs = [...]string{"411111", "424242", "400000", "401288", "400005", "555555", "510510", "520082",
	"222300", "378282", "371449", "378734", "601111", "601100", "353011", "356600", "305693", "362270", "620000"}

// testCard reports whether the digits at the start of d begin with a
// test BIN.
func testCard(d []byte) bool {
	if len(d) < 6 {
		return false
	}
	for _, b := range testBINs {
		if string(d[:6]) == b {
			return true
		}
	}
	return false
}

package config

import "strings"

// awsRegions are the regions AWS had launched by December 2026, in every
// partition (commercial, China, GovCloud, the European Sovereign Cloud, ISO).
// A region missing here is still accepted when it is made of known words
// (regionWords), so a new numbered region or direction needs no release.
var awsRegions = [...]string{
	"us-east-1", "us-east-2", "us-west-1", "us-west-2",
	"af-south-1",
	"ap-east-1", "ap-east-2", "ap-south-1", "ap-south-2",
	"ap-southeast-1", "ap-southeast-2", "ap-southeast-3", "ap-southeast-4", "ap-southeast-5", "ap-southeast-6", "ap-southeast-7",
	"ap-northeast-1", "ap-northeast-2", "ap-northeast-3",
	"ca-central-1", "ca-west-1",
	"eu-central-1", "eu-central-2", "eu-west-1", "eu-west-2", "eu-west-3", "eu-south-1", "eu-south-2", "eu-north-1",
	"il-central-1", "me-south-1", "me-central-1", "mx-central-1", "sa-east-1",
	"cn-north-1", "cn-northwest-1",
	"us-gov-east-1", "us-gov-west-1",
	"eusc-de-east-1",
	"us-iso-east-1", "us-iso-west-1", "us-isob-east-1", "us-isof-south-1", "us-isof-east-1", "eu-isoe-west-1",
}

// regionWords are the parts region names are made of.
var regionWords = map[string]bool{
	"us": true, "af": true, "ap": true, "ca": true, "eu": true, "il": true, "me": true, "mx": true, "sa": true, "cn": true,
	"eusc": true, "de": true, "gov": true, "iso": true, "isob": true, "isof": true, "isoe": true,
	"east": true, "west": true, "north": true, "south": true, "central": true,
	"northeast": true, "northwest": true, "southeast": true, "southwest": true,
}

// checkRegion says in one line what is wrong with region name, or "" when it
// is fine. Without an endpoint it must be an AWS region, or made of the words
// AWS region names are made of. A custom endpoint (MinIO, R2, ...) may use
// any name, except one so close to an AWS region that it is surely that
// region misspelt ("us-east-l").
func checkRegion(name string, endpoint bool) string {
	if plausibleRegion(name) {
		return ""
	}
	near, d := nearestRegion(name)
	close := d <= 2 && len(name) >= 6
	switch {
	case !endpoint && close:
		return "region " + quote(name) + " is not valid: did you mean " + quote(near) + "? (AWS regions look like us-east-1)"
	case !endpoint:
		return "region " + quote(name) + " is not valid: use an AWS region such as us-east-1 or ap-northeast-1 (any name is accepted when endpoint is set)"
	case close:
		return "region " + quote(name) + " is not valid: did you mean " + quote(near) + "? (an endpoint may use its own region name, but not a misspelt AWS region)"
	}
	return ""
}

// plausibleRegion reports whether name is a known AWS region or shaped like one
// from known words: words joined by '-', then a number of one or two digits.
func plausibleRegion(name string) bool {
	i := strings.LastIndexByte(name, '-')
	if i <= 0 || len(name)-i-1 < 1 || len(name)-i-1 > 2 {
		return false
	}
	for _, c := range name[i+1:] {
		if c < '0' || c > '9' {
			return false
		}
	}
	words := strings.Split(name[:i], "-")
	if len(words) < 2 {
		return false
	}
	for _, w := range words {
		if !regionWords[w] {
			return false
		}
	}
	return true
}

// nearestRegion is the known AWS region nearest to name by edit distance.
func nearestRegion(name string) (string, int) {
	best, bestD := "", 1<<30
	lower := strings.ToLower(name)
	for _, r := range awsRegions {
		if d := levenshtein(lower, r); d < bestD {
			best, bestD = r, d
		}
	}
	return best, bestD
}

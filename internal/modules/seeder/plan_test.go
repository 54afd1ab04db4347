package seeder

import (
	"reflect"
	"testing"
	"time"

	"github.com/shopengine/shop/internal/contract"
)

// The sample articles are a function of the seed (and the product count)
// alone: the same seed plans the same bodies, another seed others; the
// scheduled ones are in the future of the run, the draft has no date.
func TestArticlePlanIsDeterministic(t *testing.T) {
	now := time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC)
	statuses := map[contract.ArticleStatus]int{}
	for k := range sampleArticles {
		a, b := articleRequest(7, k, 500, now), articleRequest(7, k, 500, now)
		if !reflect.DeepEqual(a, b) {
			t.Fatalf("article %d differs between two plans of seed 7", k)
		}
		if other := articleRequest(8, k, 500, now); other.BodyMarkdown == a.BodyMarkdown {
			t.Fatalf("article %d: seeds 7 and 8 plan the same body", k)
		}
		statuses[a.Status]++
		switch a.Status {
		case contract.ArticleScheduled:
			if a.PublishAt == nil || !a.PublishAt.After(now) {
				t.Fatalf("scheduled article %s at %v", a.Slug, a.PublishAt)
			}
		default:
			if a.PublishAt != nil {
				t.Fatalf("%s article %s has publish_at", a.Status, a.Slug)
			}
		}
	}
	if statuses[contract.ArticlePublished] != 5 || statuses[contract.ArticleScheduled] != 2 || statuses[contract.ArticleDraft] != 1 {
		t.Fatalf("statuses %v", statuses)
	}
	if body := articleRequest(7, 0, 0, now).BodyMarkdown; body == articleRequest(7, 0, 500, now).BodyMarkdown {
		t.Fatal("without products an article links to none")
	}
}

type nopProgress struct{}

func (nopProgress) Start(string, int) {}
func (nopProgress) Add(int)           {}
func (nopProgress) End()              {}

// timed records every stage with the items the progress saw.
func TestTimedRecordsStages(t *testing.T) {
	var sum Summary
	p := &timed{Progress: nopProgress{}, sum: &sum}
	p.Start("a", 3)
	p.Add(2)
	p.Add(1)
	p.End()
	p.Start("b", 0)
	p.End()
	if len(sum.Stages) != 2 || sum.Stages[0].Name != "a" || sum.Stages[0].Items != 3 || sum.Stages[1].Items != 0 || sum.Stages[0].Elapsed <= 0 {
		t.Fatalf("stages %+v", sum.Stages)
	}
	if (Stage{Items: 10, Elapsed: 2 * time.Second}).Rate() != 5 || (Stage{Items: 1}).Rate() != 0 {
		t.Fatal("rate")
	}
}

// The n-gram language model: corpus reading, modified Kneser-Ney against hand computation and an
// independent reference, normalisation, sampling frequencies, decoding, degenerate corpora.
#include <catch2/catch.hpp>

#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <string>
#include <vector>

#include "ngram_reference.hpp"
#include "ouroboros/models/ngram.hpp"
#include "ouroboros/models/ngram_decode.hpp"

using namespace ouro;
using models::ngram_fitter;
using models::ngram_lm;
using models::ngram_smoothing;
using text::word_id;

namespace {

std::filesystem::path temp_file(const std::string& name, const std::string& content) {
  const auto p = std::filesystem::temp_directory_path() / ("ouroboros_test_" + name);
  std::ofstream(p, std::ios::binary) << content;
  return p;
}

/// A random corpus over `words` words (ids 3 .. 3 + words - 1), Zipf-like, sentences of 0-12
/// words.
text::corpus random_corpus(std::size_t sentences, std::size_t words, std::uint64_t seed) {
  default_rng g(seed);
  text::corpus c;
  std::vector<word_id> s;
  for (std::size_t i = 0; i < sentences; ++i) {
    s.clear();
    const std::size_t len = uniform_index(g, 13);
    for (std::size_t t = 0; t < len; ++t) {
      // Zipf-like: the square of a uniform favours low ids
      const double u = uniform01(g);
      s.push_back(
          static_cast<word_id>(3 + static_cast<std::size_t>(u * u * static_cast<double>(words))));
    }
    c.add_sentence(s);
  }
  return c;
}

/// Draws n tokens with `gen` after `ctx` and checks them against the nucleus of mass top_p of the
/// weights (weight, word): no draw outside it, and a chi-square of the draws against the
/// renormalised nucleus below its mean df plus 4 standard deviations sqrt(2 df). Returns the
/// nucleus size.
std::size_t check_nucleus(models::ngram_generator& gen, const word_id* ctx,
                          const std::vector<word_id>& hist,
                          std::vector<std::pair<double, word_id>> weights, double top_p,
                          std::size_t n, default_rng& g) {
  double Z = 0;
  for (const auto& w : weights) Z += w.first;
  std::stable_sort(weights.begin(), weights.end(),
                   [](auto& x, auto& y) { return x.first > y.first; });
  double acc = 0;
  std::size_t nuc = 0;
  while (acc < top_p * Z) acc += weights[nuc++].first;
  std::vector<double> seen(weights.size() + 3, 0.0);
  for (std::size_t i = 0; i < n; ++i) seen[gen.next(ctx, hist, g)] += 1;
  double chi2 = 0, outside = 0;
  for (std::size_t i = 0; i < weights.size(); ++i) {
    const double o = seen[weights[i].second];
    if (i < nuc) {
      const double e = weights[i].first / acc * static_cast<double>(n);
      chi2 += (o - e) * (o - e) / e;
    } else {
      outside += o;
    }
  }
  CHECK(outside == 0);
  REQUIRE(nuc > 1);
  const double df = static_cast<double>(nuc) - 1;
  INFO("chi2 " << chi2 << " df " << df << " nucleus " << nuc);
  CHECK(chi2 < df + 4 * std::sqrt(2 * df));
  return nuc;
}

ngram_lm fit(const text::corpus& c, std::size_t order, std::size_t V,
             ngram_smoothing sm = ngram_smoothing::modified_kneser_ney) {
  ngram_fitter f;
  f.order = order;
  f.vocab_size = V;
  f.smoothing = sm;
  event_log log;
  return f.fit(c, log);
}

}  // namespace

TEST_CASE("read_sentences: lines, blanks, tabs and CRLF", "[ngram][corpus]") {
  const auto p = temp_file("ok.txt", "The cat sat .\n\n  a\tb  \r\nlast line");
  const auto s = text::read_sentences(p.string());
  REQUIRE(s.size() == 3);
  CHECK(s[0] == std::vector<std::string>{"The", "cat", "sat", "."});
  CHECK(s[1] == std::vector<std::string>{"a", "b"});
  CHECK(s[2] == std::vector<std::string>{"last", "line"});
}

TEST_CASE("read_sentences: clear errors for bad files", "[ngram][corpus]") {
  const auto msg = [](const std::string& path) {
    try {
      text::read_sentences(path);
    } catch (const data_error& e) {
      return std::string(e.what());
    }
    return std::string("no error");
  };
  CHECK_THAT(msg("/nonexistent/ouroboros.txt"), Catch::Contains("cannot open"));
  CHECK_THAT(msg(temp_file("empty.txt", "").string()), Catch::Contains("no tokens"));
  CHECK_THAT(msg(temp_file("blank.txt", "\n  \n\t\n").string()), Catch::Contains("no tokens"));
  const auto bad = msg(temp_file("latin1.txt", "fine\ncaf\xE9 au lait\n").string());
  CHECK_THAT(bad, Catch::Contains("latin1.txt:2") && Catch::Contains("invalid UTF-8") &&
                      Catch::Contains("offset 8"));
  CHECK_THAT(msg(temp_file("overlong.txt", "\xC0\xAF\n").string()), Catch::Contains("UTF-8"));
  CHECK_THAT(msg(temp_file("nul.txt", std::string("a\0b\n", 4)).string()), Catch::Contains("NUL"));
  CHECK(text::read_sentences(temp_file("utf8.txt", "na\xC3\xAFve \xE2\x82\xAC\n").string())[0][1] ==
        "\xE2\x82\xAC");
}

TEST_CASE("vocabulary: minimum count, markers, OOV", "[ngram][corpus]") {
  const text::sentences s{{"a", "b", "a"}, {"c", "a", "b"}};
  const auto v = text::vocabulary::build(s, 2);
  CHECK(v.size() == 5);  // <s> </s> <unk> a b
  CHECK(v.word(0) == "<s>");
  CHECK(v.word(1) == "</s>");
  CHECK(v.word(2) == "<unk>");
  CHECK(v.id("a") == 3);
  CHECK(v.id("c") == text::vocabulary::unk);
  std::size_t oov = 0;
  const auto c = v.encode(text::sentences{{"a", "z", "b"}, {"<unk>"}}, &oov);
  CHECK(oov == 1);
  CHECK(c.sentences() == 2);
  CHECK(v.decode(c.sentence(0)) == "a <unk> b");
  // the marker strings in a text are unknown words, never markers inside a sentence (a fuzzer
  // found that "<s>" in a text made the fitter throw)
  std::size_t oov2 = 0;
  const auto m = v.encode(text::sentences{{"a", "<s>", "</s>"}}, &oov2);
  CHECK(m.sentence(0)[1] == text::vocabulary::unk);
  CHECK(m.sentence(0)[2] == text::vocabulary::unk);
  CHECK(oov2 == 2);
}

TEST_CASE("modified Kneser-Ney by hand: a bigram model on four sentences", "[ngram][mkn]") {
  // V = {<s>, </s>, <unk>, a = 3, b = 4}; sentences "a b", "a b", "b a", "a". Bigram counts:
  // <s>a 3, <s>b 1, ab 2, b</s> 2, ba 1, a</s> 2: n1..n4 = 2, 3, 1, 0, so the discounts fall
  // back to 0.5, 1, 1.5; so do the unigram ones (continuation counts a, b, </s> = 2 each).
  text::corpus c;
  c.add_sentence(std::vector<word_id>{3, 4});
  c.add_sentence(std::vector<word_id>{3, 4});
  c.add_sentence(std::vector<word_id>{4, 3});
  c.add_sentence(std::vector<word_id>{3});
  ngram_fitter f;
  f.order = 2;
  f.vocab_size = 5;
  event_log log;
  const auto m = f.fit(c, log);
  REQUIRE(log.entries().size() == 1);
  CHECK_THAT(log.entries()[0].what, Catch::Contains("orders 1, 2"));
  CHECK(m.discounts(2).fallback);
  CHECK(m.discounts(2).n == std::array<std::size_t, 4>{2, 3, 1, 0});
  // unigram: T = 6, each of a, b, </s> keeps 2 - 1 = 1, gamma = 3/6; p1 = 1/6 + 0.5/4
  const double p1 = 1.0 / 6 + 0.5 / 4;
  using h = std::vector<word_id>;
  CHECK(m.prob(h{}, 3) == Approx(0.520833333333).epsilon(1e-12));  // 1.5/4 + 0.5 p1
  CHECK(m.prob(h{}, 4) == Approx(0.125 + 0.5 * p1).epsilon(1e-12));
  CHECK(m.prob(h{3}, 4) == Approx(0.25 + 0.5 * p1).epsilon(1e-12));
  CHECK(m.prob(h{3}, 1) == Approx(0.25 + 0.5 * p1).epsilon(1e-12));
  CHECK(m.prob(h{3}, 3) == Approx(0.5 * p1).epsilon(1e-12));
  CHECK(m.prob(h{3}, 2) == Approx(0.5 * 0.125).epsilon(1e-12));
  CHECK(m.prob(h{4}, 1) == Approx(1.0 / 3 + 0.5 * p1).epsilon(1e-12));
  CHECK(m.prob(h{4}, 3) == Approx(0.5 / 3 + 0.5 * p1).epsilon(1e-12));
  CHECK(m.prob(h{3}, 0) == 0.0);  // <s> is never predicted
  // perplexity of "a b": p(a|<s>) p(b|a) p(</s>|b)
  text::corpus t;
  t.add_sentence(std::vector<word_id>{3, 4});
  const auto s = m.evaluate(t);
  CHECK(s.tokens == 3);
  const double ll =
      std::log(0.520833333333333) + std::log(0.25 + 0.5 * p1) + std::log(1.0 / 3 + 0.5 * p1);
  CHECK(s.log_likelihood == Approx(ll).epsilon(1e-12));
  CHECK(s.perplexity == Approx(std::exp(-ll / 3)).epsilon(1e-12));
}

TEST_CASE("Kneser-Ney agrees with an independent reference implementation", "[ngram][mkn]") {
  // orders 12 and 14 over 600 words: n-gram keys of 120 bits (packed in 128) and of 140 bits
  // (compared word by word)
  for (std::size_t order : {1, 2, 3, 4, 6, 12, 14}) {
    for (bool modified : {true, false}) {
      const std::size_t words = order >= 12 ? 600 : 40, V = words + 3;
      const auto c = random_corpus(1500, words, 100 + order);
      const auto m =
          fit(c, order, V,
              modified ? ngram_smoothing::modified_kneser_ney : ngram_smoothing::kneser_ney);
      const ref::kn_reference r(c, order, V, modified);
      if (modified && order == 3) {  // the count-of-counts define the discounts here
        CHECK_FALSE(m.discounts(3).fallback);
        CHECK(m.discounts(3).d1 == Approx(r.D[3][0]).epsilon(1e-14));
        CHECK(m.discounts(3).d3 == Approx(r.D[3][2]).epsilon(1e-14));
      }
      default_rng g(order);
      double worst = 0;
      for (int trial = 0; trial < 40; ++trial) {
        // contexts from the corpus (seen) and random ones (mostly unseen)
        std::vector<word_id> hist;
        if (trial % 2 == 0) {
          const auto s = c.sentence(uniform_index(g, c.sentences()));
          hist.assign(s.begin(), s.begin() + static_cast<long>(uniform_index(g, s.size() + 1)));
        } else {
          for (std::size_t i = 0; i < uniform_index(g, 5); ++i)
            hist.push_back(static_cast<word_id>(3 + uniform_index(g, words)));
        }
        ref::gram h(order - 1, 0);
        for (std::size_t i = 0; i < order - 1 && i < hist.size(); ++i)
          h[order - 2 - i] = hist[hist.size() - 1 - i];
        for (word_id w = 0; w < V; ++w) {
          const double a = m.prob(hist, w), b = r.prob(h, w);
          worst = std::max(worst, std::abs(a - b) / std::max(b, 1e-300));
        }
      }
      INFO("order " << order << (modified ? " modified" : " plain"));
      CHECK(worst < 1e-12);
    }
  }
}

TEST_CASE("every smoothing and order: probabilities sum to one", "[ngram]") {
  const std::size_t words = 60, V = words + 3;
  const auto c = random_corpus(800, words, 7);
  for (auto sm : {ngram_smoothing::modified_kneser_ney, ngram_smoothing::kneser_ney,
                  ngram_smoothing::mle, ngram_smoothing::add_k}) {
    for (std::size_t order = 1; order <= 6; ++order) {
      const auto m = fit(c, order, V, sm);
      default_rng g(order * 10);
      std::vector<double> p;
      for (int trial = 0; trial < 20; ++trial) {
        std::vector<word_id> hist;
        if (trial % 2 == 0) {
          const auto s = c.sentence(uniform_index(g, c.sentences()));
          hist.assign(s.begin(), s.begin() + static_cast<long>(uniform_index(g, s.size() + 1)));
        } else {
          for (std::size_t i = 0; i < uniform_index(g, 6); ++i)
            hist.push_back(static_cast<word_id>(3 + uniform_index(g, words)));
        }
        double total = 0;
        for (word_id w = 0; w < V; ++w) total += m.prob(hist, w);
        INFO(models::to_string(sm) << " order " << order);
        CHECK(total == Approx(1.0).epsilon(1e-12));
        std::array<word_id, ngram_lm::max_order> ctx;
        m.fill_context(hist, ctx);
        m.distribution(ctx.data(), p);
        for (word_id w = 0; w < V; ++w)
          CHECK(p[w] == Approx(m.prob(hist, w)).epsilon(1e-12).margin(1e-300));
      }
    }
  }
}

TEST_CASE("ancestral sampling draws tokens with the model's probabilities", "[ngram][sampling]") {
  // chi-square over the words of expected count >= 5, the rest pooled; the statistic has mean df
  // and standard deviation sqrt(2 df): fail beyond 4 of them
  const std::size_t words = 30, V = words + 3;
  const auto c = random_corpus(600, words, 9);
  for (auto sm : {ngram_smoothing::modified_kneser_ney, ngram_smoothing::add_k}) {
    const auto m = fit(c, 3, V, sm);
    const auto s = c.sentence(3);
    std::vector<word_id> hist(s.begin(),
                              s.begin() + std::min<long>(2, static_cast<long>(s.size())));
    std::array<word_id, ngram_lm::max_order> ctx;
    m.fill_context(hist, ctx);
    const std::size_t n = 200000;
    std::vector<double> seen(V, 0.0);
    default_rng g(5);
    for (std::size_t i = 0; i < n; ++i) seen[m.sample_next(ctx.data(), g)] += 1;
    double chi2 = 0, pooled_e = 0, pooled_o = 0;
    std::size_t df = 0;
    for (word_id w = 0; w < V; ++w) {
      const double e = m.prob(hist, w) * static_cast<double>(n);
      if (e >= 5) {
        chi2 += (seen[w] - e) * (seen[w] - e) / e;
        ++df;
      } else {
        pooled_e += e, pooled_o += seen[w];
      }
    }
    if (pooled_e > 0) chi2 += (pooled_o - pooled_e) * (pooled_o - pooled_e) / pooled_e, ++df;
    --df;
    CHECK(seen[0] == 0);  // never <s>
    INFO(models::to_string(sm) << ": chi2 " << chi2 << " df " << df);
    CHECK(chi2 < static_cast<double>(df) + 4 * std::sqrt(2.0 * static_cast<double>(df)));
  }
}

TEST_CASE("decoding: top-k, top-p, temperature, greedy and beam search", "[ngram][decode]") {
  const std::size_t words = 30, V = words + 3;
  const auto c = random_corpus(600, words, 13);
  const auto m = fit(c, 3, V);
  const auto s = c.sentence(5);
  std::vector<word_id> hist(s.begin(), s.begin() + std::min<long>(1, static_cast<long>(s.size())));
  std::array<word_id, ngram_lm::max_order> ctx;
  m.fill_context(hist, ctx);
  std::vector<double> p;
  m.distribution(ctx.data(), p);
  std::vector<word_id> order(V);
  for (word_id w = 0; w < V; ++w) order[w] = w;
  std::stable_sort(order.begin(), order.end(), [&](word_id a, word_id b) { return p[a] > p[b]; });
  default_rng g(3);

  SECTION("top-k = 1 is the most likely word; top-k = 3 never leaves the three") {
    models::ngram_decoding d;
    d.top_k = 1;
    models::ngram_generator gen(m, d);
    for (int i = 0; i < 50; ++i) CHECK(gen.next(ctx.data(), hist, g) == order[0]);
    d.top_k = 3;
    models::ngram_generator gen3(m, d);
    for (int i = 0; i < 300; ++i) {
      const auto w = gen3.next(ctx.data(), hist, g);
      CHECK((w == order[0] || w == order[1] || w == order[2]));
    }
  }
  SECTION("top-p keeps the nucleus") {
    models::ngram_decoding d;
    d.top_p = 0.5;
    std::size_t nucleus = 0;
    for (double acc = 0; acc < 0.5; acc += p[order[nucleus++]]) {
    }
    models::ngram_generator gen(m, d);
    for (int i = 0; i < 500; ++i) {
      const auto w = gen.next(ctx.data(), hist, g);
      CHECK(std::find(order.begin(), order.begin() + static_cast<long>(nucleus), w) !=
            order.begin() + static_cast<long>(nucleus));
    }
  }
  SECTION("temperature: a low one concentrates on the mode") {
    models::ngram_decoding d;
    d.temperature = 0.05;
    models::ngram_generator gen(m, d);
    std::size_t mode = 0;
    for (int i = 0; i < 400; ++i) mode += gen.next(ctx.data(), hist, g) == order[0];
    CHECK(mode > 390);
  }
  SECTION("beam search with one beam is greedy; wider beams never score worse") {
    models::ngram_decoding d;
    d.how = models::ngram_decoding::method::beam;
    d.beams = 1;
    models::ngram_generator greedy(m, d);
    const auto out = greedy.beam_search(hist, 8, false);
    // greedy by hand: the argmax of the full distribution at each step
    std::vector<word_id> sent = hist, expect;
    for (int step = 0; step < 8; ++step) {
      std::array<word_id, ngram_lm::max_order> cx;
      m.fill_context(sent, cx);
      m.distribution(cx.data(), p);
      word_id best = 0;
      for (word_id w = 1; w < V; ++w)
        if (p[w] > p[best]) best = w;
      expect.push_back(best);
      if (best == ngram_lm::eos)
        sent.clear();
      else
        sent.push_back(best);
    }
    CHECK(out == expect);
    const auto score = [&](const std::vector<word_id>& toks) {
      std::vector<word_id> se = hist;
      double ll = 0;
      for (word_id w : toks) {
        ll += std::log(m.prob(se, w));
        if (w == ngram_lm::eos)
          se.clear();
        else
          se.push_back(w);
      }
      return ll;
    };
    d.beams = 5;
    models::ngram_generator beam(m, d);
    CHECK(score(beam.beam_search(hist, 8, false)) >= score(out) - 1e-12);
  }
  SECTION("the exact top words equal a full sort, for every smoothing and penalty") {
    for (auto sm : {ngram_smoothing::modified_kneser_ney, ngram_smoothing::kneser_ney,
                    ngram_smoothing::mle, ngram_smoothing::add_k}) {
      const auto mm = fit(c, 3, V, sm);
      for (double pen : {1.0, 1.7}) {
        models::ngram_decoding d;
        d.repetition_penalty = pen;
        models::ngram_generator gen(mm, d);
        for (int trial = 0; trial < 30; ++trial) {
          const auto sent = c.sentence(uniform_index(g, c.sentences()));
          std::vector<word_id> hh(
              sent.begin(), sent.begin() + static_cast<long>(uniform_index(g, sent.size() + 1)));
          if (trial % 3 == 0) hh.push_back(static_cast<word_id>(3 + uniform_index(g, words)));
          std::array<word_id, ngram_lm::max_order> cx;
          mm.fill_context(hh, cx);
          mm.distribution(cx.data(), p);
          std::vector<std::pair<double, word_id>> all;
          for (word_id w = 1; w < V; ++w) {
            if (!(p[w] > 0)) continue;
            double sc = std::log(p[w]);
            if (std::find(hh.begin(), hh.end(), w) != hh.end()) sc *= pen;
            all.push_back({sc, w});
          }
          std::sort(all.begin(), all.end(), [](auto& x, auto& y) { return x.first > y.first; });
          const std::size_t k = 1 + uniform_index(g, 8);
          for (std::size_t budget : {std::size_t{1024}, std::size_t{0}}) {  // ordered, dense
            gen.read_budget = budget;
            const auto& top = gen.best(cx.data(), hh, k);
            INFO(models::to_string(sm) << " penalty " << pen << " k " << k << " budget " << budget);
            REQUIRE(top.size() == std::min(k, all.size()));
            for (std::size_t i = 0; i < top.size(); ++i)
              CHECK(top[i].first == Approx(all[i].first).epsilon(1e-12));
          }
        }
      }
    }
  }
  for (const auto& [temp, pen] : std::vector<std::pair<double, double>>{{1.0, 2.0}, {1.6, 1.0}}) {
    SECTION("top-p samples the nucleus of the penalised, tempered distribution: T " +
            std::to_string(temp) + ", penalty " + std::to_string(pen)) {
      // chi-square of the draws against the renormalised nucleus (both the sparse and the dense
      // paths: T = 1 reads the words in order, T != 1 passes over the vocabulary)
      models::ngram_decoding d;
      d.top_p = 0.8;
      d.temperature = temp;
      d.repetition_penalty = pen;
      models::ngram_generator gen(m, d);
      std::vector<std::pair<double, word_id>> weights;
      for (word_id w = 1; w < V; ++w) {
        const bool rep = std::find(hist.begin(), hist.end(), w) != hist.end();
        weights.push_back({std::pow(p[w], (rep ? pen : 1.0) / temp), w});
      }
      check_nucleus(gen, ctx.data(), hist, weights, 0.8, 100000, g);
    }
  }
  SECTION("bad settings are refused") {
    models::ngram_decoding d;
    d.top_p = 0;
    CHECK_THROWS_AS(models::ngram_generator(m, d), std::invalid_argument);
    d = {};
    d.temperature = -1;
    CHECK_THROWS_AS(models::ngram_generator(m, d), std::invalid_argument);
    d = {};
    d.repetition_penalty = 0.5;
    CHECK_THROWS_AS(models::ngram_generator(m, d), std::invalid_argument);
  }
}

TEST_CASE("degenerate corpora give events and finite numbers, never NaN", "[ngram][degenerate]") {
  const std::size_t V = 10;
  text::corpus test;
  test.add_sentence(std::vector<word_id>{3, 4, 5});
  test.add_sentence(std::vector<word_id>{});
  SECTION("empty corpus: a uniform model") {
    event_log log;
    ngram_fitter f;
    f.vocab_size = V;
    const auto m = f.fit(text::corpus{}, log);
    CHECK_THAT(log.entries().at(0).what, Catch::Contains("empty"));
    CHECK(m.prob(std::vector<word_id>{3}, 4) == Approx(1.0 / 9));
    CHECK(m.evaluate(test).perplexity == Approx(9.0));
    default_rng g(1);
    CHECK(m.sample(5, g).sentences() == 5);
  }
  for (const auto& [name, sents] :
       std::vector<std::pair<std::string, std::vector<std::vector<word_id>>>>{
           {"one sentence", {{3, 4, 5, 6}}},
           {"one word repeated", {std::vector<word_id>(500, 7)}},
           {"empty sentences", {{}, {}, {}}}}) {
    SECTION(name) {
      text::corpus c;
      for (const auto& s : sents) c.add_sentence(s);
      for (auto sm : {ngram_smoothing::modified_kneser_ney, ngram_smoothing::kneser_ney}) {
        event_log log;
        ngram_fitter f;
        f.vocab_size = V;
        f.smoothing = sm;
        f.max_sentence_length = 200;
        const auto m = f.fit(c, log);
        CHECK_FALSE(log.empty());  // the discounts fell back
        const auto sc = m.evaluate(test);
        CHECK(std::isfinite(sc.perplexity));
        CHECK(std::isfinite(sc.perplexity_excluding_oov));
        default_rng g(2);
        const auto out = m.sample(20, g);
        CHECK(out.sentences() == 20);
        for (word_id w : out.tokens) CHECK((w > 0 && w < V && w != ngram_lm::eos));
        for (std::size_t i = 0; i < 20; ++i) CHECK(out.sentence(i).size() <= 200);
      }
    }
  }
  SECTION("a model that only ends sentences: the text sampler stops, with an event") {
    text::corpus empty_sentences;
    for (int i = 0; i < 5; ++i) empty_sentences.add_sentence(std::vector<word_id>{});
    const auto m = fit(empty_sentences, 3, V, ngram_smoothing::mle);  // p(</s> | <s> <s>) = 1
    for (auto how : {sample::ngram_text::mode::sentences, sample::ngram_text::mode::continuation}) {
      sample::ngram_text s;
      s.words_per_sentence = 5;
      s.how = how;
      s.prompts = std::make_shared<const text::corpus>(test);
      event_log log;
      default_rng g(3);
      const auto out = s(m, 10, g, log);
      CHECK(out.token_count() == 0);
      CHECK(out.sentences() >= 2 * 50 + 1000);
      CHECK(out.sentences() <= 2 * 50 + 1000 + 64);
      REQUIRE(log.entries().size() == 1);
      CHECK_THAT(log.entries()[0].what, Catch::Contains("only 0 of 50 words"));
    }
  }
  SECTION("a text of markers only: the three-word vocabulary still gives a model") {
    // found by the text fuzzer: "<s>" alone made the fitter refuse a vocabulary of 3
    const auto v = text::vocabulary::build(text::sentences{{"<s>"}}, 1);
    REQUIRE(v.size() == 3);
    ngram_fitter f;
    f.vocab_size = v.size();
    event_log log;
    const auto m = f.fit(v.encode(text::sentences{{"<s>"}, {"</s>", "<s>"}}), log);
    CHECK(std::isfinite(m.evaluate(v.encode(text::sentences{{"x"}})).perplexity));
    default_rng g(3);
    CHECK(m.sample(4, g).sentences() == 4);
  }
  SECTION("bad input is refused") {
    ngram_fitter f;
    f.vocab_size = V;
    event_log log;
    text::corpus c;
    c.add_sentence(std::vector<word_id>{3, 99});
    CHECK_THROWS_WITH(f.fit(c, log), Catch::Contains("outside the vocabulary"));
    text::corpus b;
    b.add_sentence(std::vector<word_id>{0});
    CHECK_THROWS_WITH(f.fit(b, log), Catch::Contains("<s>"));
    f.order = 0;
    CHECK_THROWS_AS(f.fit(text::corpus{}, log), std::invalid_argument);
  }
}

#ifdef OUROBOROS_TEST_DATA_DIR
TEST_CASE("Brown corpus: trigram test perplexity matches the reference", "[ngram][data]") {
  const std::string dir = OUROBOROS_TEST_DATA_DIR;
  const auto train_s = text::read_sentences(dir + "/brown.train.txt");
  const auto test_s = text::read_sentences(dir + "/brown.test.txt");
  const auto v = text::vocabulary::build(train_s, 4);
  const auto train = v.encode(train_s);
  const auto test = v.encode(test_s);
  const auto m = fit(train, 3, v.size());
  const ref::kn_reference r(train, 3, v.size(), true);
  double ll = 0;
  std::size_t n = 0;
  for (std::size_t i = 0; i < test.sentences(); ++i) {
    ref::gram h(2, 0);
    const auto s = test.sentence(i);
    for (std::size_t t = 0; t <= s.size(); ++t) {
      const word_id w = t < s.size() ? s[t] : 1;
      ll += std::log(r.prob(h, w));
      ++n;
      h = {h[1], w};
    }
  }
  const double ref_ppl = std::exp(-ll / static_cast<double>(n));
  const auto ours = m.evaluate(test);
  CHECK(ours.tokens == n);
  CHECK(ours.perplexity == Approx(ref_ppl).epsilon(0.01));
  CHECK(ours.perplexity == Approx(ref_ppl).epsilon(1e-9));  // in fact to rounding
  CHECK(v.size() > 10000);
}
#endif

TEST_CASE("top-p over a wide nucleus (the dense path at temperature 1)", "[ngram][decode]") {
  const std::size_t words = 400, V = words + 3;
  const auto c = random_corpus(300, words, 17);
  const auto m = fit(c, 2, V);
  std::array<word_id, ngram_lm::max_order> ctx;
  const std::vector<word_id> hist{5};
  m.fill_context(hist, ctx);
  std::vector<double> p;
  m.distribution(ctx.data(), p);
  std::vector<std::pair<double, word_id>> weights;
  for (word_id w = 1; w < V; ++w) weights.push_back({p[w], w});
  models::ngram_decoding d;
  d.top_p = 0.97;
  models::ngram_generator gen(m, d);
  default_rng g(8);
  // beyond the sparse path's budget of 64 words
  CHECK(check_nucleus(gen, ctx.data(), hist, weights, 0.97, 200000, g) > 64);
}

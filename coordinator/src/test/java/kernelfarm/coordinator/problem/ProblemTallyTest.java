package kernelfarm.coordinator.problem;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.datatype.jsr310.JavaTimeModule;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import kernelfarm.coordinator.branch.RoundAnswer;
import kernelfarm.coordinator.campaign.ProblemResult;
import kernelfarm.protocol.Backend;
import kernelfarm.protocol.Candidate;
import kernelfarm.protocol.CandidateId;
import kernelfarm.protocol.Problem;
import kernelfarm.protocol.Stats;
import kernelfarm.protocol.Status;
import kernelfarm.protocol.Timing;
import kernelfarm.protocol.Verdict;
import org.junit.jupiter.api.Test;

/** The one scoring rule of a problem, event by event, as the entity and the read side both apply it. */
class ProblemTallyTest {
  private static final Instant T0 = Instant.parse("2026-01-01T00:00:00Z");
  private static final Problem PROBLEM = new Problem("level1/19_ReLU", 1, "19_ReLU", "class Model: pass");

  private static RoundAnswer answer(String code, int promptTokens, int completionTokens) {
    Candidate candidate = code == null ? null
        : new Candidate(new CandidateId("c-" + code), PROBLEM.id(), Backend.CPU, code);
    return new RoundAnswer("fake", "prompt", "content", "", candidate, promptTokens, completionTokens, 0, 0.01, 5,
        "stop");
  }

  private static Verdict verdict(String code, Status status, Double speedup) {
    Timing timing = speedup == null ? null : new Timing("wall", stats(1.0), stats(1.0 / speedup), speedup, "eager");
    return new Verdict(new CandidateId("c-" + code), PROBLEM.id(), status, "timing",
        Map.of("compile", 9000.0, "load", 500.0, "timing", 1500.0), null, timing, List.of(), null, null, null,
        "summary", List.of());
  }

  private static Stats stats(double ms) {
    return new Stats(ms, ms, 0.0, ms, ms, 10, null);
  }

  private static Instant at(int seconds) {
    return T0.plusSeconds(seconds);
  }

  @Test
  void theFastestCorrectRoundIsBestAndTheCurveRecordsEachImprovement() {
    ProblemTally t = ProblemTally.empty().started("c1", PROBLEM, 6, at(0))
        .answered(answer("a", 100, 10))
        .judged(0, 1, verdict("a", Status.INCORRECT, null), "a", at(10))
        .answered(answer(null, 50, 5))
        .answered(answer("b", 100, 10))
        .judged(1, 1, verdict("b", Status.CORRECT, 1.5), "b", at(20))
        .answered(answer("c", 100, 10))
        .judged(0, 2, verdict("c", Status.CORRECT, 1.2), "c", at(30))
        .answered(answer("d", 100, 10))
        .judged(1, 2, verdict("d", Status.CORRECT, 2.5), "d", at(40))
        .finished("every branch spent its rounds", at(50));
    ProblemResult r = t.result(at(99));
    assertEquals(2.5, r.bestSpeedup());
    assertEquals("d", r.bestSource());
    assertEquals(1, r.bestBranch());
    assertEquals(2, r.bestRound());
    assertEquals(40.0, r.secondsToBest());
    assertEquals(List.of(new ProblemResult.CurvePoint(20, 1.5), new ProblemResult.CurvePoint(40, 2.5)), r.curve(),
        "1.2x came after 1.5x: no point");
    assertEquals(4 * 110 + 55, r.tokensToBest(), "everything answered before the best verdict");
    assertEquals(Map.of("INCORRECT", 1, "CORRECT", 3, "NO_CODE", 1), r.statusCounts());
    assertEquals(5, r.roundsAnswered());
    assertEquals(4, r.roundsJudged());
    assertEquals(4 * 2.0, r.gpuSeconds(), 1e-9, "load to timing, never the compile");
    assertEquals(50.0, r.elapsedSeconds(), "a finished problem's clock stops");
    assertTrue(r.finished());
  }

  @Test
  void withoutACorrectRoundTheLatestVerdictStandsAndTiesGoToTheFirstJudged() {
    ProblemTally t = ProblemTally.empty().started("c1", PROBLEM, 4, at(0))
        .answered(answer("a", 1, 1)).judged(0, 1, verdict("a", Status.COMPILE_ERROR, null), "a", at(1))
        .answered(answer("b", 1, 1)).judged(1, 1, verdict("b", Status.RUNTIME_ERROR, null), "b", at(2));
    ProblemResult r = t.result(at(5));
    assertNull(r.bestSpeedup());
    assertEquals(Status.RUNTIME_ERROR, r.best().status());
    assertEquals(5.0, r.elapsedSeconds(), "a running problem's clock runs");
    assertFalse(r.finished());
    ProblemTally tie = t.answered(answer("c", 1, 1)).judged(0, 2, verdict("c", Status.CORRECT, 2.0), "c", at(3))
        .answered(answer("e", 1, 1)).judged(1, 2, verdict("e", Status.CORRECT, 2.0), "e", at(4));
    assertEquals("c", tie.result(at(5)).bestSource());
  }

  @Test
  void aTallyRoundTripsThroughJsonAsTheReadTablesStoreIt() throws Exception {
    ObjectMapper json = new ObjectMapper().registerModule(new JavaTimeModule());
    ProblemTally t = ProblemTally.empty().started("c1", PROBLEM, 2, at(0)).answered(answer("a", 3, 4))
        .judged(0, 1, verdict("a", Status.CORRECT, 1.7), "a", at(7));
    assertEquals(t, json.readValue(json.writeValueAsString(t), ProblemTally.class));
  }

  @Test
  void kernelBenchsRulesKeepTheirOwnBestAndCampaignFigures() {
    Verdict rejected = withKernelBench(verdict("cheat", Status.REJECTED, 4.0), true, 4.0);
    Verdict honest = withKernelBench(verdict("honest", Status.CORRECT, 1.2), true, 1.25);
    Verdict wrong = withKernelBench(verdict("wrong", Status.INCORRECT, null), false, null);
    ProblemTally t = ProblemTally.empty().started("c1", PROBLEM, 3, at(0))
        .answered(answer("cheat", 10, 1)).judged(0, 1, rejected, "cheat", at(1))
        .answered(answer("honest", 10, 1)).judged(0, 2, honest, "honest", at(2))
        .answered(answer("wrong", 10, 1)).judged(0, 3, wrong, "wrong", at(3));
    ProblemResult r = t.result(at(4));
    assertEquals(1.2, r.bestSpeedup(), "the strict best ignores what our checks rejected");
    assertEquals(4.0, r.kernelbenchBestSpeedup(), "KernelBench's rules count the rejected candidate");
    assertEquals("c-cheat", r.kernelbenchBestVerdict().candidateId().value(), "and its export reports that one");
    ProblemResult none = ProblemTally.empty().started("c1", PROBLEM, 1, at(0))
        .answered(answer("wrong", 10, 1)).judged(0, 1, wrong, "wrong", at(1)).result(at(2));
    kernelfarm.coordinator.campaign.CampaignSummary s =
        kernelfarm.coordinator.campaign.CampaignSummary.of(List.of(r, none));
    assertEquals(1, s.correct());
    assertEquals(1, s.kernelbench().correct());
    assertEquals(0.0, s.fastP().get("fast_1.5"));
    assertEquals(0.5, s.kernelbench().fastP().get("fast_1.5"), "one of two problems beats 1.5x by KernelBench");
    assertEquals(4.0, s.kernelbench().geomeanSpeedup(), 1e-9);
  }

  private static Verdict withKernelBench(Verdict v, boolean correct, Double speedup) {
    return new Verdict(v.candidateId(), v.problemId(), v.status(), v.stage(), v.stageMillis(), v.correctness(),
        v.timing(), v.checks(), v.customKernel(), v.environment(), v.device(), v.summary(), v.logs(),
        new kernelfarm.protocol.KernelBenchVerdict("v0.1", true, correct, 5, 5, 0.01, 0.01, speedup,
            correct && v.status() != Status.CORRECT ? List.of("input_mutation: in place") : List.of()));
  }
}

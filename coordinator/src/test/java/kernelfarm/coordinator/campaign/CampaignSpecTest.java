package kernelfarm.coordinator.campaign;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.typesafe.config.ConfigFactory;
import java.time.Duration;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.stream.Collectors;
import kernelfarm.coordinator.campaign.CampaignSpec.ProblemSelection;
import kernelfarm.coordinator.campaign.CampaignSpec.Sampling;
import kernelfarm.coordinator.campaign.CampaignSpec.Search;
import kernelfarm.coordinator.campaign.CampaignSpec.StopRule;
import kernelfarm.protocol.Backend;
import kernelfarm.protocol.VerifySettings;
import org.apache.pekko.actor.testkit.typed.javadsl.ActorTestKit;
import org.apache.pekko.serialization.SerializationExtension;
import org.apache.pekko.serialization.jackson.JacksonCborSerializer;
import org.apache.pekko.serialization.jackson.JacksonObjectMapperProvider;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;

@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class CampaignSpecTest {
  private static final Set<String> CONFIGURED = Set.of("default", "nim");

  private final ActorTestKit kit = ActorTestKit.create(ConfigFactory.load("cluster-test"));
  private final ObjectMapper json =
      JacksonObjectMapperProvider.get(kit.system()).getOrCreate("jackson-json", Optional.empty());

  @AfterAll
  void shutdown() {
    kit.shutdownTestKit();
  }

  @Test
  void exampleIsValid() {
    CampaignSpec example = CampaignSpec.example();
    assertEquals(List.of(), example.validate(CONFIGURED));
    assertSame(example, example.validated(CONFIGURED));
    assertEquals(4, example.search().branches());
    assertEquals(Duration.ofMinutes(15), example.search().timeBudget());
  }

  @Test
  void reportsEveryBadFieldAtOnce() {
    CampaignSpec bad = new CampaignSpec(
        " ",
        new ProblemSelection("", List.of(), List.of(1, 5)),
        null,
        new Search(0, 1001, Duration.ZERO, StopRule.FIRST_CORRECT, 2.0, 3, 0),
        new Sampling(2.5, 0, "extreme"),
        List.of("default", "openai"),
        null);
    List<FieldError> errors = bad.validate(CONFIGURED);
    // topK 3 with restartEveryRounds 0 is wrong twice: topK exceeds branches, and restarts need a period.
    List<String> expected = List.of("name", "problems.source", "problems.levels[1]", "backend", "search.branches",
        "search.rounds", "search.timeBudget", "search.targetSpeedup", "search.topK", "search.restartEveryRounds",
        "sampling.temperature", "sampling.maxTokens", "sampling.reasoningEffort", "endpoints[1]", "verify");
    assertEquals(expected, errors.stream().map(FieldError::field).toList());
    for (FieldError error : errors) {
      assertFalse(error.problem() == null || error.problem().isBlank(), error.toString());
      assertFalse(error.fix() == null || error.fix().isBlank(), error.toString());
    }
    assertEquals("write an ISO-8601 duration such as \"PT15M\"", fieldError(errors, "search.timeBudget").fix());

    SpecException thrown = assertThrows(SpecException.class, () -> bad.validated(CONFIGURED));
    assertEquals(errors, thrown.errors());
    assertEquals(errors.stream().map(e -> e.field() + ": " + e.problem() + "; " + e.fix())
        .collect(Collectors.joining("\n")), thrown.getMessage());
  }

  @Test
  void missingNestedRecordsAreErrors() {
    CampaignSpec bare = new CampaignSpec("bare", null, Backend.CPU, null, null, null, VerifySettings.defaults());
    List<FieldError> errors = bare.validate(CONFIGURED);
    assertEquals(List.of("problems", "search", "sampling", "endpoints"),
        errors.stream().map(FieldError::field).toList());
    assertTrue(fieldError(errors, "search").fix().startsWith("add \"search\": {"), errors.toString());
  }

  @Test
  void topKNeedsRestartEveryRoundsWithinRounds() {
    CampaignSpec spec = withSearch(new Search(4, 3, Duration.ofMinutes(15), StopRule.SPEND_BUDGET, null, 2, 4));
    assertEquals(List.of("search.restartEveryRounds"),
        spec.validate(CONFIGURED).stream().map(FieldError::field).toList());
    assertEquals(List.of(), withSearch(new Search(4, 3, Duration.ofMinutes(15), StopRule.SPEND_BUDGET, null, 2, 3))
        .validate(CONFIGURED));
    assertEquals(List.of("search.timeBudget"),
        withSearch(new Search(4, 3, Duration.ofDays(8), StopRule.SPEND_BUDGET, null, 0, 0))
            .validate(CONFIGURED).stream().map(FieldError::field).toList());
  }

  @Test
  void targetSpeedupIsRequiredExactlyForItsStopRule() {
    CampaignSpec without = withSearch(new Search(4, 3, Duration.ofMinutes(15), StopRule.TARGET_SPEEDUP, null, 0, 0));
    List<FieldError> errors = without.validate(CONFIGURED);
    assertEquals(List.of("search.targetSpeedup"), errors.stream().map(FieldError::field).toList());
    assertTrue(errors.get(0).problem().contains("TARGET_SPEEDUP"), errors.toString());

    CampaignSpec with = withSearch(new Search(4, 3, Duration.ofMinutes(15), StopRule.TARGET_SPEEDUP, 1.5, 0, 0));
    assertEquals(List.of(), with.validate(CONFIGURED));

    CampaignSpec tooLow = withSearch(new Search(4, 3, Duration.ofMinutes(15), StopRule.TARGET_SPEEDUP, 1.0, 0, 0));
    assertEquals(List.of("search.targetSpeedup"),
        tooLow.validate(CONFIGURED).stream().map(FieldError::field).toList());
  }

  @Test
  void unknownEndpointNamesTheConfiguredOnes() {
    CampaignSpec e = CampaignSpec.example();
    CampaignSpec spec = new CampaignSpec(e.name(), e.problems(), e.backend(), e.search(), e.sampling(),
        List.of("nim", "openai"), e.verify());
    List<FieldError> errors = spec.validate(CONFIGURED);
    assertEquals(List.of("endpoints[1]"), errors.stream().map(FieldError::field).toList());
    assertTrue(errors.get(0).problem().contains("\"openai\""), errors.toString());
    assertTrue(errors.get(0).fix().contains("configured endpoints: [default, nim]"), errors.toString());

    List<FieldError> none = CampaignSpec.example().validate(Set.of());
    assertEquals(List.of("endpoints[0]"), none.stream().map(FieldError::field).toList());
    assertTrue(none.get(0).fix().contains("configured endpoints: []"), none.toString());
  }

  @Test
  void jsonRoundTripOfTheExampleIsEqual() throws Exception {
    String text = json.writeValueAsString(CampaignSpec.example());
    assertTrue(text.contains("\"timeBudget\":\"PT15M\""), text);
    assertTrue(text.contains("\"backend\":\"cuda\""), text);
    assertEquals(CampaignSpec.example(), CampaignSpec.parse(json, text));
  }

  @Test
  void wrongTypeNamesItsPath() throws Exception {
    String text = json.writeValueAsString(CampaignSpec.example()).replace("\"branches\":4", "\"branches\":\"many\"");
    assertTrue(text.contains("\"many\""), text); // the replacement happened
    SpecException e = assertThrows(SpecException.class, () -> CampaignSpec.parse(json, text));
    assertEquals(1, e.errors().size(), e.errors().toString());
    FieldError error = e.errors().get(0);
    assertEquals("search.branches", error.field());
    assertTrue(error.problem().contains("whole number") && error.problem().contains("\"many\""), error.toString());
    assertFalse(error.fix().isBlank());
  }

  @Test
  void malformedJsonNamesWhereItStopped() throws Exception {
    String text = json.writeValueAsString(CampaignSpec.example()).replace("\"branches\":4", "\"branches\":}");
    SpecException e = assertThrows(SpecException.class, () -> CampaignSpec.parse(json, text));
    assertEquals(1, e.errors().size(), e.errors().toString());
    assertEquals("search.branches", e.errors().get(0).field());
    assertTrue(e.errors().get(0).problem().startsWith("is not valid JSON at line 1"), e.errors().toString());
    assertFalse(e.errors().get(0).fix().isBlank());

    SpecException truncated = assertThrows(SpecException.class, () -> CampaignSpec.parse(json, "{\"name\": "));
    assertEquals(1, truncated.errors().size());
    assertFalse(truncated.errors().get(0).fix().isBlank());
  }

  @Test
  void badDurationEnumAndUnknownFieldAreFieldErrors() throws Exception {
    String example = json.writeValueAsString(CampaignSpec.example());
    FieldError duration = onlyError(example.replace("\"PT15M\"", "\"15 minutes\""));
    assertEquals("search.timeBudget", duration.field());
    assertEquals("write an ISO-8601 duration such as \"PT15M\"", duration.fix());

    FieldError backend = onlyError(example.replace("\"cuda\"", "\"rocm\""));
    assertEquals("backend", backend.field());
    assertTrue(backend.problem().contains("cuda, triton, cpu"), backend.toString());

    FieldError typo = onlyError(example.replace("\"rounds\"", "\"roundz\""));
    assertEquals("search.roundz", typo.field());
    assertTrue(typo.fix().contains("rounds"), typo.toString());

    FieldError endpoint = onlyError(example.replace("[\"default\"]", "[\"default\", {}]"));
    assertEquals("endpoints[1]", endpoint.field());

    FieldError verify = onlyError(example.replace("\"timingTrials\":100", "\"timingTrials\":0"));
    assertEquals("verify", verify.field());
    assertTrue(verify.problem().contains("timingTrials"), verify.toString());
  }

  @Test
  void parseBuildsABadSpecSoValidationSeesEveryError() {
    CampaignSpec spec = CampaignSpec.parse(json,
        "{\"name\": \"x\", \"search\": {\"branches\": 0, \"timeBudget\": \"-PT1M\"}, \"endpoints\": [\"nope\"]}");
    List<String> fields = spec.validate(CONFIGURED).stream().map(FieldError::field).toList();
    assertTrue(fields.containsAll(List.of("problems", "backend", "search.branches", "search.rounds",
        "search.timeBudget", "search.stopRule", "sampling", "endpoints[0]", "verify")), fields.toString());
  }

  @Test
  void roundTripsThroughPekkosCborSerializer() {
    CampaignSpec withOptionals = new CampaignSpec("speedup", new ProblemSelection("kb", List.of("19_ReLU"), List.of()),
        Backend.TRITON, new Search(8, 5, Duration.ofHours(2), StopRule.TARGET_SPEEDUP, 1.5, 2, 2),
        new Sampling(0.0, 32_000, "high"), List.of("nim", "default"), VerifySettings.defaults());
    for (CampaignSpec spec : List.of(CampaignSpec.example(), withOptionals)) {
      assertEquals(JacksonCborSerializer.class,
          SerializationExtension.get(kit.system()).findSerializerFor(spec).getClass());
      assertEquals(spec, kit.serializationTestKit().verifySerialization(spec, false));
    }
  }

  private FieldError onlyError(String text) {
    SpecException e = assertThrows(SpecException.class, () -> CampaignSpec.parse(json, text));
    assertEquals(1, e.errors().size(), e.errors().toString());
    assertFalse(e.errors().get(0).fix().isBlank(), e.errors().toString());
    return e.errors().get(0);
  }

  private static CampaignSpec withSearch(Search search) {
    CampaignSpec e = CampaignSpec.example();
    return new CampaignSpec(e.name(), e.problems(), e.backend(), search, e.sampling(), e.endpoints(), e.verify());
  }

  private static FieldError fieldError(List<FieldError> errors, String field) {
    return errors.stream().filter(e -> e.field().equals(field)).findFirst()
        .orElseThrow(() -> new AssertionError("no error for " + field + " in " + errors));
  }
}

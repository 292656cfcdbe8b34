package kernelfarm.coordinator.campaign;

import com.fasterxml.jackson.core.JsonParseException;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.core.JsonStreamContext;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonMappingException;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.exc.InvalidFormatException;
import com.fasterxml.jackson.databind.exc.MismatchedInputException;
import com.fasterxml.jackson.databind.exc.UnrecognizedPropertyException;
import com.fasterxml.jackson.databind.exc.ValueInstantiationException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collection;
import java.util.Collections;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;
import java.util.stream.Collectors;
import kernelfarm.protocol.Backend;
import kernelfarm.protocol.CborSerializable;
import kernelfarm.protocol.VerifySettings;

/**
 * What a campaign runs: which problems, on which backend, with which search, sampling, LLM endpoints and
 * verification. Persisted with the campaign (Jackson CBOR); submitted as JSON over HTTP or the CLI.
 *
 * <p>The records never throw on bad values, so Jackson can build a bad spec and {@link #validate} can report every
 * error at once. Evolve only by new {@code Optional} fields (STYLE.md section 5).
 *
 * @param name a short label for logs and results, e.g. {@code level1-cuda}
 * @param problems where the problems come from and which of them run
 * @param backend how candidates implement their kernels
 * @param search branches, rounds, budget, stop rule and top-k restarts, per problem
 * @param sampling how the LLM samples
 * @param endpoints names of LLM endpoints configured on the coordinator nodes (never keys); every call of every
 *     branch goes to the one with the most free slots, and moves to the next when one fails transiently
 * @param verify how workers verify each candidate
 */
public record CampaignSpec(
    String name,
    ProblemSelection problems,
    Backend backend,
    Search search,
    Sampling sampling,
    List<String> endpoints,
    VerifySettings verify)
    implements CborSerializable {

  public static final int MAX_BRANCHES = 4096;
  public static final int MAX_ROUNDS = 1000;
  public static final Duration MAX_TIME_BUDGET = Duration.ofDays(7);
  public static final int MAX_TOKENS = 1_000_000;
  public static final double MAX_TEMPERATURE = 2.0;
  public static final Set<String> REASONING_EFFORTS = Set.of("low", "medium", "high");
  public static final int MAX_LEVEL = 4;

  private static final String DURATION_FIX = "write an ISO-8601 duration such as \"PT15M\"";

  public CampaignSpec {
    endpoints = nullTolerantCopy(endpoints);
  }

  /**
   * Which problems a campaign runs.
   *
   * @param source a folder of problem files, a KernelBench checkout or a {@code .jsonl} file; the loader checks it
   * @param ids only these problem ids; empty runs all
   * @param levels only these KernelBench levels (1 to 4); empty runs all
   */
  public record ProblemSelection(String source, List<String> ids, List<Integer> levels)
      implements CborSerializable {
    public ProblemSelection {
      ids = nullTolerantCopy(ids);
      levels = nullTolerantCopy(levels);
    }
  }

  /** When a problem's search ends. */
  public enum StopRule {
    /** at the first correct candidate */
    FIRST_CORRECT,
    /** at the first correct candidate at least {@code targetSpeedup} times faster than the reference */
    TARGET_SPEEDUP,
    /** when the rounds or the time budget run out */
    SPEND_BUDGET
  }

  /**
   * The search per problem.
   *
   * @param branches independent LLM conversations per problem
   * @param rounds prompt-candidate-verdict rounds per branch
   * @param timeBudget wall-clock limit per problem
   * @param stopRule when the search of a problem ends
   * @param targetSpeedup the speedup that ends the search; set exactly when {@code stopRule} is TARGET_SPEEDUP
   * @param topK 0 leaves branches alone; k restarts weak branches from the k best candidates so far
   * @param restartEveryRounds with topK on, how many rounds pass between restarts
   */
  public record Search(
      int branches,
      int rounds,
      Duration timeBudget,
      StopRule stopRule,
      Double targetSpeedup,
      int topK,
      int restartEveryRounds)
      implements CborSerializable {}

  /**
   * How the LLM samples.
   *
   * @param temperature 0 to 2
   * @param maxTokens completion tokens per answer, reasoning included
   * @param reasoningEffort null (the endpoint's default) or low, medium, high
   */
  public record Sampling(double temperature, int maxTokens, String reasoningEffort) implements CborSerializable {}

  /** A valid small spec for docs and tests: 4 branches, 3 rounds, 15 minutes, endpoint {@code default}. */
  public static CampaignSpec example() {
    return new CampaignSpec(
        "example",
        new ProblemSelection("problems/level1.jsonl", List.of(), List.of(1)),
        Backend.CUDA,
        new Search(4, 3, Duration.ofMinutes(15), StopRule.SPEND_BUDGET, null, 0, 0),
        new Sampling(0.7, 16_384, null),
        List.of("default"),
        VerifySettings.defaults());
  }

  /**
   * Reads a spec from JSON. Unknown fields are refused here (a typo must not silently fall back to a default),
   * though persisted specs still load after fields are added.
   *
   * @throws SpecException with one FieldError naming the JSON path, when the text is not JSON or a value has the
   *     wrong type; the spec is not {@link #validate validated}
   */
  public static CampaignSpec parse(ObjectMapper json, String text) {
    if (text == null || text.isBlank()) {
      throw new SpecException(List.of(new FieldError("spec", "is empty", "write a JSON object such as "
          + exampleJson(json))));
    }
    CampaignSpec spec;
    try {
      spec = json.readerFor(CampaignSpec.class)
          .with(DeserializationFeature.FAIL_ON_UNKNOWN_PROPERTIES, DeserializationFeature.FAIL_ON_TRAILING_TOKENS)
          .without(DeserializationFeature.ACCEPT_FLOAT_AS_INT)
          .readValue(text);
    } catch (JsonMappingException e) {
      throw new SpecException(List.of(mappingError(e)));
    } catch (JsonProcessingException e) {
      throw new SpecException(List.of(syntaxError(e)));
    }
    if (spec == null) {
      throw new SpecException(List.of(new FieldError("spec", "is null", "write a JSON object such as "
          + exampleJson(json))));
    }
    return spec;
  }

  /** This spec, or a SpecException with every error that {@link #validate} finds. */
  public CampaignSpec validated(Set<String> configuredEndpoints) {
    List<FieldError> errors = validate(configuredEndpoints);
    if (!errors.isEmpty()) {
      throw new SpecException(errors);
    }
    return this;
  }

  /**
   * Every reason this spec cannot run, each with its field path and a fix; empty when it can.
   *
   * @param configuredEndpoints names of the LLM endpoints configured on this coordinator
   */
  public List<FieldError> validate(Set<String> configuredEndpoints) {
    List<FieldError> errors = new ArrayList<>();
    if (name == null || name.isBlank()) {
      errors.add(new FieldError("name", "must not be blank", "write a short label such as \"level1-cuda\""));
    }
    validateProblems(errors);
    if (backend == null) {
      errors.add(new FieldError("backend", "missing", "write one of " + backendNames()));
    }
    validateSearch(errors);
    validateSampling(errors);
    validateEndpoints(configuredEndpoints == null ? Set.of() : configuredEndpoints, errors);
    if (verify == null) {
      errors.add(new FieldError("verify", "missing",
          "add \"verify\": {\"correctnessTrials\": 5, \"atol\": 0.01, \"rtol\": 0.01, \"warmupRuns\": 10, "
              + "\"timingTrials\": 100, \"flushL2\": true, \"requireCustomKernel\": false, \"seed\": 42}"));
    }
    return List.copyOf(errors);
  }

  private void validateProblems(List<FieldError> errors) {
    if (problems == null) {
      errors.add(new FieldError("problems", "missing",
          "add \"problems\": {\"source\": \"path/to/KernelBench\", \"levels\": [1]}"));
      return;
    }
    if (problems.source() == null || problems.source().isBlank()) {
      errors.add(new FieldError("problems.source", "must not be blank",
          "write a folder of problem files, a KernelBench checkout or a .jsonl file"));
    }
    for (int i = 0; i < problems.ids().size(); i++) {
      String id = problems.ids().get(i);
      if (id == null || id.isBlank()) {
        errors.add(new FieldError("problems.ids[" + i + "]", "must not be blank",
            "write a problem id, or remove the entry"));
      }
    }
    for (int i = 0; i < problems.levels().size(); i++) {
      Integer level = problems.levels().get(i);
      if (level == null || level < 1 || level > MAX_LEVEL) {
        errors.add(new FieldError("problems.levels[" + i + "]", "must be 1 to " + MAX_LEVEL + ", got " + level,
            "write a KernelBench level from 1 to " + MAX_LEVEL + ", or leave levels empty for all"));
      }
    }
  }

  private void validateSearch(List<FieldError> errors) {
    if (search == null) {
      errors.add(new FieldError("search", "missing", "add \"search\": {\"branches\": 4, \"rounds\": 3, "
          + "\"timeBudget\": \"PT15M\", \"stopRule\": \"SPEND_BUDGET\", \"topK\": 0}"));
      return;
    }
    Search s = search;
    if (s.branches() < 1 || s.branches() > MAX_BRANCHES) {
      errors.add(new FieldError("search.branches", "must be 1 to " + MAX_BRANCHES + ", got " + s.branches(),
          "write how many LLM conversations run per problem, e.g. 4"));
    }
    if (s.rounds() < 1 || s.rounds() > MAX_ROUNDS) {
      errors.add(new FieldError("search.rounds", "must be 1 to " + MAX_ROUNDS + ", got " + s.rounds(),
          "write how many rounds each branch runs, e.g. 3"));
    }
    Duration budget = s.timeBudget();
    if (budget == null) {
      errors.add(new FieldError("search.timeBudget", "missing", DURATION_FIX));
    } else if (budget.isZero() || budget.isNegative()) {
      errors.add(new FieldError("search.timeBudget", "must be positive, got " + budget, DURATION_FIX));
    } else if (budget.compareTo(MAX_TIME_BUDGET) > 0) {
      errors.add(new FieldError("search.timeBudget", "must be at most P7D, got " + budget,
          DURATION_FIX + ", at most \"P7D\""));
    }
    String stopRules = Arrays.toString(StopRule.values());
    if (s.stopRule() == null) {
      errors.add(new FieldError("search.stopRule", "missing", "write one of " + stopRules));
    }
    Double target = s.targetSpeedup();
    if (s.stopRule() == StopRule.TARGET_SPEEDUP) {
      if (target == null) {
        errors.add(new FieldError("search.targetSpeedup", "missing, but stopRule is TARGET_SPEEDUP",
            "write the speedup that ends the search, e.g. 1.5, or choose another stopRule"));
      } else if (!(target > 1.0) || target.isInfinite()) {
        errors.add(new FieldError("search.targetSpeedup", "must be a finite number above 1.0, got " + target,
            "write the speedup over the reference that ends the search, e.g. 1.5"));
      }
    } else if (target != null) {
      errors.add(new FieldError("search.targetSpeedup",
          "only used with stopRule TARGET_SPEEDUP, but stopRule is " + s.stopRule(),
          "remove targetSpeedup, or set stopRule to TARGET_SPEEDUP"));
    }
    if (s.topK() < 0 || s.topK() > Math.max(s.branches(), 0)) {
      errors.add(new FieldError("search.topK", "must be 0 (off) or 1 to branches (" + s.branches() + "), got "
          + s.topK(), "write 0 to leave branches alone, or how many best candidates restarts start from"));
    }
    if (s.topK() > 0 && (s.restartEveryRounds() < 1 || s.restartEveryRounds() > Math.max(s.rounds(), 1))) {
      errors.add(new FieldError("search.restartEveryRounds", "must be 1 to rounds (" + s.rounds()
          + ") when topK is on, got " + s.restartEveryRounds(),
          "write how many rounds pass between restarts, e.g. 1, or set topK to 0"));
    }
  }

  private void validateSampling(List<FieldError> errors) {
    if (sampling == null) {
      errors.add(new FieldError("sampling", "missing",
          "add \"sampling\": {\"temperature\": 0.7, \"maxTokens\": 16384}"));
      return;
    }
    double t = sampling.temperature();
    if (!(t >= 0 && t <= MAX_TEMPERATURE)) {
      errors.add(new FieldError("sampling.temperature", "must be 0 to " + MAX_TEMPERATURE + ", got " + t,
          "write e.g. 0.7, or 0 for the most likely tokens"));
    }
    if (sampling.maxTokens() < 1 || sampling.maxTokens() > MAX_TOKENS) {
      errors.add(new FieldError("sampling.maxTokens", "must be 1 to " + MAX_TOKENS + ", got "
          + sampling.maxTokens(), "write the completion limit, reasoning included, e.g. 16384"));
    }
    String effort = sampling.reasoningEffort();
    if (effort != null && !REASONING_EFFORTS.contains(effort)) {
      errors.add(new FieldError("sampling.reasoningEffort", "must be low, medium or high, got \"" + effort + "\"",
          "write low, medium or high, or leave it out for the endpoint's default"));
    }
  }

  private void validateEndpoints(Set<String> configured, List<FieldError> errors) {
    String known = "configured endpoints: " + new TreeSet<>(configured);
    if (endpoints.isEmpty()) {
      errors.add(new FieldError("endpoints", "must name at least one LLM endpoint",
          "write e.g. [\"default\"]; " + known));
      return;
    }
    Set<String> seen = new HashSet<>();
    for (int i = 0; i < endpoints.size(); i++) {
      String endpoint = endpoints.get(i);
      String field = "endpoints[" + i + "]";
      if (endpoint == null || endpoint.isBlank()) {
        errors.add(new FieldError(field, "must not be blank", "write an endpoint's name; " + known));
      } else if (!configured.contains(endpoint)) {
        errors.add(new FieldError(field, "no endpoint named \"" + endpoint + "\" is configured",
            "use one of the " + known + " (a campaign names an endpoint, never a key)"));
      } else if (!seen.add(endpoint)) {
        errors.add(new FieldError(field, "\"" + endpoint + "\" is listed twice", "remove the repeat"));
      }
    }
  }

  private static FieldError mappingError(JsonMappingException e) {
    if (e.getCause() instanceof JsonParseException syntax) {
      // Databind wraps a syntax error met inside a nested value; the parser knows the innermost path.
      return syntaxError(syntax);
    }
    String field = path(e.getPath());
    if (e instanceof UnrecognizedPropertyException u) {
      String known = u.getKnownPropertyIds() == null ? "" : u.getKnownPropertyIds().stream()
          .map(String::valueOf).sorted().collect(Collectors.joining(", "));
      return new FieldError(field, "is not a field of this spec", "check the spelling; known fields here: " + known);
    }
    Throwable cause = e.getCause();
    if (cause instanceof IllegalArgumentException && !(cause instanceof JsonProcessingException)
        && cause.getMessage() != null) {
      // A constructor that validates (VerifySettings) or a creator that refuses (Backend): its message says why.
      String problem = cause.getMessage();
      String last = field.substring(field.lastIndexOf('.') + 1);
      if (problem.startsWith(last + " ")) { // "backend: backend must be ..." reads better without the repeat
        problem = problem.substring(last.length() + 1);
      }
      return new FieldError(field, problem, fixFor(targetType(e)));
    }
    Class<?> target = targetType(e);
    String problem = target == null ? firstLine(e.getOriginalMessage()) : "must be " + describe(target);
    if (e instanceof InvalidFormatException f) {
      problem += ", got " + (f.getValue() instanceof String ? "\"" + f.getValue() + "\"" : f.getValue());
    }
    return new FieldError(field, problem, fixFor(target));
  }

  private static FieldError syntaxError(JsonProcessingException e) {
    String field = "spec";
    if (e.getProcessor() instanceof JsonParser p) {
      String path = path(p.getParsingContext());
      if (!path.isEmpty()) {
        field = path;
      }
    }
    String where = e.getLocation() == null ? ""
        : " at line " + e.getLocation().getLineNr() + ", column " + e.getLocation().getColumnNr();
    return new FieldError(field, "is not valid JSON" + where + ": " + firstLine(e.getOriginalMessage()),
        "check the JSON near there: names and strings in double quotes, commas between fields, every value present");
  }

  private static Class<?> targetType(JsonMappingException e) {
    if (e instanceof MismatchedInputException m) {
      return m.getTargetType();
    }
    if (e instanceof ValueInstantiationException v && v.getType() != null) {
      return v.getType().getRawClass();
    }
    return null;
  }

  private static String describe(Class<?> type) {
    if (type == int.class || type == Integer.class || type == long.class || type == Long.class) {
      return "a whole number";
    }
    if (type == double.class || type == Double.class) {
      return "a number";
    }
    if (type == boolean.class || type == Boolean.class) {
      return "true or false";
    }
    if (type == String.class) {
      return "a string";
    }
    if (type == Duration.class) {
      return "an ISO-8601 duration";
    }
    if (Collection.class.isAssignableFrom(type)) {
      return "a JSON array";
    }
    if (type == Backend.class) {
      return "one of " + backendNames();
    }
    if (type.isEnum()) {
      return "one of " + Arrays.toString(type.getEnumConstants());
    }
    return "a JSON object (" + type.getSimpleName() + ")";
  }

  private static String fixFor(Class<?> type) {
    if (type == null) {
      return "check the value against CampaignSpec.example()";
    }
    if (type == Duration.class) {
      return DURATION_FIX;
    }
    if (type == int.class || type == Integer.class || type == long.class || type == Long.class) {
      return "write a whole number without quotes, e.g. 4";
    }
    if (type == double.class || type == Double.class) {
      return "write a number without quotes, e.g. 1.5";
    }
    if (type == VerifySettings.class) {
      return "correct the value; the defaults are correctnessTrials 5, atol 0.01, rtol 0.01, warmupRuns 10, "
          + "timingTrials 100";
    }
    return "write " + describe(type);
  }

  private static String path(List<JsonMappingException.Reference> refs) {
    StringBuilder out = new StringBuilder();
    for (JsonMappingException.Reference ref : refs) {
      if (ref.getFieldName() != null) {
        if (out.length() > 0) {
          out.append('.');
        }
        out.append(ref.getFieldName());
      } else if (ref.getIndex() >= 0) {
        out.append('[').append(ref.getIndex()).append(']');
      }
    }
    return out.length() == 0 ? "spec" : out.toString();
  }

  /** The path of the value a parser stopped in, e.g. {@code search.branches}; empty at the top. */
  private static String path(JsonStreamContext context) {
    List<String> parts = new ArrayList<>();
    for (JsonStreamContext c = context; c != null && !c.inRoot(); c = c.getParent()) {
      if (c.inArray()) {
        parts.add("[" + Math.max(c.getCurrentIndex(), 0) + "]");
      } else if (c.getCurrentName() != null) {
        parts.add("." + c.getCurrentName());
      }
    }
    Collections.reverse(parts);
    String joined = String.join("", parts);
    return joined.startsWith(".") ? joined.substring(1) : joined;
  }

  private static String firstLine(String message) {
    if (message == null) {
      return "unreadable";
    }
    int newline = message.indexOf('\n');
    return newline < 0 ? message : message.substring(0, newline);
  }

  private static String backendNames() {
    return Arrays.stream(Backend.values()).map(Backend::wireName).collect(Collectors.joining(", "));
  }

  private static String exampleJson(ObjectMapper json) {
    try {
      return json.writeValueAsString(example());
    } catch (JsonProcessingException e) {
      return "CampaignSpec.example()";
    }
  }

  /** An unmodifiable copy that, unlike List.copyOf, keeps nulls so validation can report them; null reads as empty. */
  private static <T> List<T> nullTolerantCopy(List<T> list) {
    return list == null ? List.of() : Collections.unmodifiableList(new ArrayList<>(list));
  }
}

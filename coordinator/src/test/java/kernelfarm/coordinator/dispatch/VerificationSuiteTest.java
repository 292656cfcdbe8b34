package kernelfarm.coordinator.dispatch;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.typesafe.config.Config;
import com.typesafe.config.ConfigFactory;
import java.io.IOException;
import java.net.URISyntaxException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import kernelfarm.coordinator.problem.CandidateFile;
import kernelfarm.coordinator.problem.ProblemLibrary;
import kernelfarm.protocol.Backend;
import kernelfarm.protocol.Candidate;
import kernelfarm.protocol.CheckOutcome;
import kernelfarm.protocol.KernelBenchVerdict;
import kernelfarm.protocol.Status;
import kernelfarm.protocol.Verdict;
import kernelfarm.protocol.VerifySettings;
import kernelfarm.worker.WorkerSettings;
import org.apache.pekko.actor.testkit.typed.javadsl.TestProbe;
import org.apache.pekko.cluster.MemberStatus;
import org.apache.pekko.cluster.typed.Cluster;
import org.apache.pekko.cluster.typed.Join;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * The verifier end to end on a one-node cluster with the worker role: the real Dispatcher, GpuWorker (on the cpu
 * device), CompilePool and Python harness processes on Debian's CPU torch. Every candidate under
 * {@code verify/{adversarial,faults,legit}} states in its header the status and check outcomes it must get; the
 * adversarial ones are cheats that must be caught, the legit ones must pass (no false positives), the faults must
 * cost their candidate alone. All are submitted at once, as a campaign would, and judged by one worker.
 */
@Tag("slow")
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class VerificationSuiteTest {
  private static final List<String> FOLDERS = List.of("adversarial", "faults", "hostile", "legit");
  private static final Duration VERDICT_WAIT = Duration.ofMinutes(15);

  private LocalFarm farm;
  private ProblemLibrary problems;
  private final Map<String, CandidateFile> files = new LinkedHashMap<>();
  private final Map<String, CompletableFuture<Verdict>> verdicts = new LinkedHashMap<>();

  @BeforeAll
  void submitEveryCandidate() throws Exception {
    Config config = ConfigFactory.parseString("""
        pekko.cluster.roles = [coordinator, worker]
        kernelfarm.worker {
          devices = cpu
          work-dir = "target/kfarm-test-work"
          compile-slots = 2
          warm-evaluators = 2
          stage-timeouts { correctness = 20s, anticheat = 60s, timing = 60s }
          limits.address-space-bytes = 8589934592
          # hostile/fill_scratch writes up to 1 GiB: stopped at a quarter of that, the test disk keeps its room.
          sandbox.scratch-bytes = 256 MiB
        }
        """).withFallback(ConfigFactory.load("cluster-test")).resolve();
    farm = LocalFarm.start(config, WorkerSettings.from(config));
    Cluster cluster = Cluster.get(farm.system());
    cluster.manager().tell(Join.create(cluster.selfMember().address()));
    TestProbe<Object> probe = TestProbe.create(farm.system());
    probe.awaitAssert(Duration.ofSeconds(20), () -> {
      assertEquals(MemberStatus.up(), cluster.selfMember().status());
      return null;
    });
    problems = ProblemLibrary.load(resource("problems"), farm.json());
    for (String folder : FOLDERS) {
      for (CandidateFile file : CandidateFile.readFolder(resource(folder), problems)) {
        String key = folder + "/" + file.name();
        files.put(key, file);
        verdicts.put(key, submit(file));
      }
    }
  }

  @AfterAll
  void stop() {
    if (farm != null) {
      farm.close();
    }
  }

  Stream<String> candidates() throws Exception {
    return FOLDERS.stream().flatMap(folder -> {
      try (Stream<Path> paths = Files.list(resource(folder))) {
        return paths.map(p -> folder + "/" + p.getFileName()).sorted().toList().stream();
      } catch (IOException | URISyntaxException e) {
        throw new IllegalStateException(e);
      }
    });
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("candidates")
  void verdictIsTheOneItsHeaderStates(String key) throws Exception {
    CandidateFile file = files.get(key);
    Verdict v = verdict(key);
    assertEquals(Status.valueOf(file.header("expect")), v.status(), key + ": " + v.summary());
    for (String words : file.headers("expect-summary")) {
      assertTrue(v.summary().contains(words), key + ": the summary says \"" + words + "\": " + v.summary());
    }
    for (String expectation : file.headers("expect-check")) {
      String[] parts = expectation.split("=");
      CheckOutcome outcome = v.check(parts[0]).orElseThrow().outcome();
      assertEquals(CheckOutcome.valueOf(parts[1]), outcome, key + " check " + parts[0] + ": "
          + v.check(parts[0]).orElseThrow().detail());
    }
    if (v.status() == Status.REJECTED) {
      assertTrue(v.checks().stream().anyMatch(c -> c.outcome() == CheckOutcome.FAILED
          && v.summary().contains("'" + c.name() + "'")), "a rejection names its check: " + v.summary());
    }
    if (key.startsWith("legit/")) {
      assertTrue(v.checks().stream().noneMatch(c -> c.outcome() == CheckOutcome.FAILED), v.summary());
    }
    KernelBenchVerdict kb = v.kernelbench();
    String expectKb = file.header("expect-kernelbench");
    if (expectKb != null) {
      assertNotNull(kb, key + ": every harness verdict carries KernelBench's answer");
      assertEquals("v0.1", kb.rules());
      assertEquals(expectKb, !kb.compiled() ? "not-compiled" : kb.correct() ? "correct" : "incorrect",
          key + ": " + kb);
    }
    if (kb != null && kb.correct()) {
      assertNotNull(kb.speedup(), key + ": KernelBench times what it calls correct, rejected or not: " + kb);
      if (v.status() == Status.CORRECT) {
        assertEquals(v.timing().reference().meanMs() / v.timing().candidate().meanMs(), kb.speedup(), 1e-12,
            "one timing, two rule sets (KernelBench divides means)");
        assertEquals(List.of(), kb.differences());
      } else {
        assertTrue(kb.differences().stream().anyMatch(d -> v.checks().stream().anyMatch(c -> c.outcome()
            == CheckOutcome.FAILED && d.startsWith(c.name() + ":"))), key + ": the difference is named: " + kb);
      }
    }
    assertEquals(16, v.checks().size(), "every check is listed, run or not");
    assertEquals(file.problem().id(), v.problemId());
  }

  @Test
  void incorrectVerdictNamesTheFirstMismatchWithItsValues() throws Exception {
    Verdict v = verdict("faults/wrong_values.py");
    assertEquals("value", v.correctness().firstMismatch().kind());
    assertEquals(0, v.correctness().passed());
    assertEquals(5, v.correctness().trials());
    assertEquals(2, v.correctness().firstMismatch().index().size());
    assertEquals("0", v.correctness().firstMismatch().expected());
    assertTrue(Double.parseDouble(v.correctness().firstMismatch().actual()) < 0);
    assertTrue(v.summary().contains("expected 0, got " + v.correctness().firstMismatch().actual()), v.summary());
    assertEquals("correctness", v.stage());
    Verdict shape = verdict("faults/wrong_shape.py");
    assertEquals("shape", shape.correctness().firstMismatch().kind());
    assertEquals("[16, 1023]", shape.correctness().firstMismatch().actual());
  }

  @Test
  void compileErrorKeepsTheCompilerLinesThatMatter() throws Exception {
    Verdict v = verdict("faults/cpp_compile_error.py");
    assertTrue(v.summary().contains("error: invalid conversion from"), v.summary());
    assertTrue(v.summary().contains("int not_a_tensor = \"text\";"), v.summary());
    assertFalse(v.summary().contains("-MMD"), "no compiler command lines: " + v.summary());
    assertEquals("compile", v.stage());
  }

  @Test
  void crashesSayHowTheProcessDied() throws Exception {
    assertTrue(verdict("faults/segfault.py").summary().contains("SIGSEGV"));
    Verdict exit = verdict("faults/exits.py");
    assertTrue(exit.summary().contains("exited with status 0"), exit.summary());
    Verdict oom = verdict("faults/out_of_memory.py");
    assertTrue(oom.summary().toLowerCase().contains("memory"), oom.summary());
    Verdict loop = verdict("faults/endless_loop.py");
    assertEquals("correctness", loop.stage());
    assertTrue(loop.summary().contains("limit of stage correctness"), loop.summary());
  }

  @Test
  void correctVerdictCarriesTimingEnvironmentAndDevice() throws Exception {
    Verdict v = verdict("legit/cpp_relu.py");
    assertNotNull(v.timing());
    assertEquals(100, v.timing().candidate().trials());
    assertEquals(v.timing().reference().medianMs() / v.timing().candidate().medianMs(), v.timing().speedup(), 1e-9);
    assertTrue(v.customKernel().used());
    assertEquals("cpp_extension", v.customKernel().kind());
    assertTrue(v.environment().torch().startsWith("1.") || v.environment().torch().startsWith("2."));
    assertTrue(v.environment().networkIsolated());
    assertEquals("bwrap", v.environment().isolation().mode());
    assertTrue(v.environment().isolation().complete(), "nothing short of full isolation on a host with bwrap: "
        + v.environment().isolation().gaps());
    assertTrue(v.environment().isolation().uid() >= 1000, "never root: " + v.environment().isolation());
    assertEquals("cpu", v.device().name());
    for (String stage : List.of("load", "correctness", "anticheat", "timing")) {
      assertTrue(v.stageMillis().containsKey(stage), "stage timing " + stage);
    }
    assertTrue(v.logs().stream().anyMatch(log -> Files.exists(Path.of(log))), "logs by reference: " + v.logs());
  }

  @Test
  void degenerateProblemIsCheckedWithExtraInputs() throws Exception {
    Verdict v = verdict("legit/softmax_stable.py");
    assertTrue(v.correctness().degenerate().degenerate());
    assertTrue(v.correctness().degenerate().resolvedWithExtraInputs());
    assertTrue(v.correctness().degenerate().reason().contains("all-zero"), v.correctness().degenerate().reason());
  }

  @Test
  void theHarnessOnDiskCannotBeRewritten() throws Exception {
    Verdict v = verdict("hostile/write_harness.py");
    assertTrue(v.summary().contains("Read-only file system") || v.summary().contains("Permission denied"),
        v.summary());
    Path harness = farm.worker().launcher().harnessRoot().resolve("harness");
    for (String module : kernelfarm.worker.sandbox.HarnessInstall.MODULES) {
      try (var in = getClass().getResourceAsStream("/harness/" + module)) {
        assertTrue(java.util.Arrays.equals(in.readAllBytes(), Files.readAllBytes(harness.resolve(module))), module);
      }
    }
    assertEquals(Status.INCORRECT, verdict("faults/wrong_values.py").status(), "the judge still judges");
  }

  @Test
  void nothingIsWrittenOutsideTheScratchFolder() throws Exception {
    assertEquals(Status.CORRECT, verdict("hostile/write_outside.py").status());
    List<Path> places = new java.util.ArrayList<>(List.of(Path.of("/tmp"), Path.of("/var/tmp"), Path.of("/dev/shm"),
        Path.of("/etc"), Path.of("/usr/lib"), Path.of(System.getProperty("user.home"))));
    for (Path place : places) {
      assertFalse(Files.exists(place.resolve("kfarm-escape-marker")), "escaped into " + place);
    }
    for (Path tree : List.of(Path.of("target/kfarm-test-work"), Path.of(System.getProperty("user.dir")))) {
      try (Stream<Path> all = Files.walk(tree)) {
        // Its own scratch folder (its HOME) is the one place it may write.
        assertEquals(List.of(), all.filter(p -> p.getFileName().toString().equals("kfarm-escape-marker"))
            .filter(p -> !p.getParent().getFileName().toString().equals("scratch")).toList());
      }
    }
  }

  @Test
  void theCompileCacheIsReadOnlyToEvaluations() throws Exception {
    Verdict v = verdict("hostile/write_cache.py");
    assertEquals(Status.CORRECT, v.status(), v.summary());
    try (Stream<Path> all = Files.walk(Path.of("target/kfarm-test-work/compile-cache"))) {
      for (Path file : all.filter(Files::isRegularFile).toList()) {
        String text = new String(Files.readAllBytes(file), java.nio.charset.StandardCharsets.ISO_8859_1);
        assertFalse(text.endsWith("tampered"), "cache file rewritten: " + file);
      }
    }
  }

  @Test
  void aCandidateCannotSignalTheWorker() throws Exception {
    Verdict v = verdict("hostile/kill_parent.py");
    assertEquals(Status.RUNTIME_ERROR, v.status());
    assertTrue(v.summary().contains("Operation not permitted"), v.summary());
    assertFalse(farm.system().whenTerminated().isCompleted(), "the worker is alive");
  }

  @Test
  void detachedProcessesAreFoundAndDieWithTheSandbox() throws Exception {
    Verdict v = verdict("hostile/double_fork.py");
    assertTrue(v.check("background_work").orElseThrow().detail().contains("sleep 3127"), v.summary());
    TestProbe<Object> probe = TestProbe.create(farm.system());
    probe.awaitAssert(Duration.ofSeconds(20), () -> {
      assertEquals(List.of(), ProcessHandle.allProcesses()
          .filter(p -> p.info().commandLine().orElse("").contains("sleep 3127")).map(ProcessHandle::pid).toList());
      return null;
    });
  }

  @Test
  void aFloodOfOutputCostsAFewMegabytes() throws Exception {
    Verdict v = verdict("hostile/flood_output.py");
    assertEquals(Status.CORRECT, v.status(), v.summary());
    Path log = v.logs().stream().map(Path::of).filter(p -> p.getFileName().toString().equals("harness.log"))
        .findFirst().orElseThrow();
    assertTrue(Files.size(log) < 3L << 20, "log of " + Files.size(log) + " bytes for 100 MB printed");
    assertTrue(Files.readString(log).contains("bytes of output dropped"));
  }

  @Test
  void secretsACandidatePrintsAreRedactedEverywhere() throws Exception {
    Verdict v = verdict("hostile/leak_secret.py");
    assertEquals(Status.RUNTIME_ERROR, v.status());
    String secret = System.getenv("KFARM_LLM_API_KEY");
    assertFalse(v.summary().contains(secret), v.summary());
    assertTrue(v.summary().contains(kernelfarm.protocol.Redaction.MASK), v.summary());
    assertFalse(v.summary().contains("abcdefghijklmnopqrstu"), "bearer token: " + v.summary());
    for (String log : v.logs()) {
      assertFalse(Files.readString(Path.of(log)).contains(secret), log);
    }
    assertEquals(Status.CORRECT, verdict("hostile/read_environ.py").status(), "no other process's environment");
    assertEquals(Status.CORRECT, verdict("hostile/setns.py").status(), "no way into another network namespace");
  }

  @Test
  void secretsOfTheWorkerNeverReachCandidateCode() throws Exception {
    // Surefire sets this for the test JVM (and so for the worker): without it the test proves nothing.
    assertNotNull(System.getenv("KFARM_LLM_API_KEY"), "the test JVM must carry a secret");
    assertEquals(Status.CORRECT, verdict("legit/secrets_invisible.py").status());
  }

  @Test
  void workerGoesOnAfterEveryFault() throws Exception {
    for (String key : verdicts.keySet()) {
      if (key.startsWith("faults/")) {
        verdict(key);
      }
    }
    String source = Files.readString(resource("legit").resolve("two_outputs_ok.py")) + "\n# after the faults\n";
    Candidate after = Candidate.of("hardtanh_wide", Backend.CPU, source);
    Verdict v = farm.verify(after, problems.get("hardtanh_wide"), VerifySettings.defaults()).toCompletableFuture()
        .get(VERDICT_WAIT.toSeconds(), TimeUnit.SECONDS);
    assertEquals(Status.CORRECT, v.status(), v.summary());
  }

  @Test
  void sameSourceIsAnsweredFromTheVerdictCache() throws Exception {
    Verdict first = verdict("legit/linear_fused.py");
    CandidateFile file = files.get("legit/linear_fused.py");
    Verdict again = submit(file).get(VERDICT_WAIT.toSeconds(), TimeUnit.SECONDS);
    assertEquals(first, again);
  }

  private CompletableFuture<Verdict> submit(CandidateFile file) {
    VerifySettings settings = VerifySettings.defaults();
    if ("true".equals(file.header("require-custom-kernel"))) {
      settings = new VerifySettings(5, 1e-2, 1e-2, 10, 100, true, true, 42);
    }
    Candidate c = Candidate.of(file.problem().id(), Backend.CPU, file.source());
    return farm.verify(c, file.problem(), settings).toCompletableFuture();
  }

  private Verdict verdict(String key) throws Exception {
    return verdicts.get(key).get(VERDICT_WAIT.toSeconds(), TimeUnit.SECONDS);
  }

  private static Path resource(String folder) throws URISyntaxException {
    return Path.of(VerificationSuiteTest.class.getResource("/verify/" + folder).toURI());
  }
}

package kernelfarm.worker.sandbox;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import kernelfarm.protocol.Backend;
import kernelfarm.protocol.Candidate;
import kernelfarm.protocol.Problem;
import kernelfarm.protocol.Stats;
import kernelfarm.protocol.VerifySettings;

/**
 * Request lines for the harness (its protocol.py names the fields) and the files they point to. A request carries
 * everything the harness needs, so nothing is left to state between candidates.
 */
public final class HarnessRequests {
  private HarnessRequests() {}

  /** How a candidate is verified: its files, where its builds live, and how to judge it. */
  public record Job(Candidate candidate, Problem problem, Path candidateFile, Path problemFile, Path buildDir,
      VerifySettings settings) {}

  /** Writes the candidate and problem sources under {@code workDir/sources} (idempotent: names are hashes). */
  public static Job prepare(Path workDir, Candidate candidate, Problem problem, Path buildDir,
      VerifySettings settings) {
    Path sources = workDir.resolve("sources");
    Path candidateFile = writeOnce(sources.resolve(candidate.id().value() + ".py"), candidate.source());
    Path problemFile = writeOnce(sources.resolve("problem-" + sha256(problem.source()).substring(0, 16) + ".py"),
        problem.source());
    return new Job(candidate, problem, candidateFile, problemFile, buildDir, settings);
  }

  /** The compile cache folder of a source: same source, backend and architecture, same builds. */
  public static Path buildDir(Path workDir, Candidate candidate, String archList, Path harnessRoot,
      String toolchain) {
    String key = sha256(candidate.backend().wireName() + "\n" + archList + "\n" + harnessRoot.getFileName() + "\n"
        + toolchain + "\n" + candidate.source()).substring(0, 24);
    return workDir.resolve("compile-cache").resolve(key);
  }

  /**
   * The request for a compile process. Its builds go to {@code build/} in its own scratch folder; the worker
   * publishes them into the compile cache afterwards ({@link #publish}), so no sandbox ever writes the cache.
   */
  public static String compile(ObjectMapper json, Job job, HarnessProcess process, Path headers) {
    Path scratch = stageSources(job, process);
    Map<String, Object> request = base(job, "compile", scratch);
    if (headers != null) {
      CompileCache.link(headers, scratch.resolve("pch"), process.uid());
      request.put("pch_dir", scratch.resolve("pch").toString());
    }
    return write(json, request);
  }

  /** Where this host's precompiled torch/extension.h lives: one per harness and toolchain, like every build. */
  public static Path headersDir(Path workDir, Path harnessRoot, String toolchain) {
    return workDir.resolve("compile-cache").resolve("headers-" + sha256(harnessRoot.getFileName() + "\n"
        + toolchain).substring(0, 24));
  }

  /** The request that has a compile process precompile torch/extension.h into {@code pch/} of its scratch folder. */
  public static String headers(ObjectMapper json, Backend backend, HarnessProcess process) {
    Map<String, Object> request = new LinkedHashMap<>();
    request.put("id", "headers");
    request.put("mode", "headers");
    request.put("backend", backend.wireName());
    request.put("scratch_dir", process.scratch().toString());
    request.put("token", UUID.randomUUID().toString());
    return write(json, request);
  }

  /** Publishes the precompiled header a headers request left in {@code scratch}, read-only, like a build. */
  public static void publishHeaders(Path scratch, Path entry) {
    CompileCache.publish(scratch.resolve("pch"), entry);
  }

  /** {@code mode} is "evaluate" (after a compile process built everything) or "oneshot" (build and evaluate). */
  /** {@code cpus}: the cores the evaluation is timed on (its device's own), or empty to leave it where it is. */
  public static String evaluate(ObjectMapper json, Job job, HarnessProcess process, String mode,
      Stats referenceTiming, int driftTrials, double driftTolerance, List<Integer> cpus) {
    Path scratch = stageSources(job, process);
    if (mode.equals("evaluate")) {
      CompileCache.link(job.buildDir(), scratch.resolve("build"), process.uid());
    }
    Map<String, Object> request = base(job, mode, scratch);
    VerifySettings s = job.settings();
    request.put("correctness_trials", s.correctnessTrials());
    request.put("atol", s.atol());
    request.put("rtol", s.rtol());
    request.put("warmup_runs", s.warmupRuns());
    request.put("timing_trials", s.timingTrials());
    request.put("flush_l2", s.flushL2());
    request.put("require_custom_kernel", s.requireCustomKernel());
    request.put("kernelbench_rules", s.kernelbenchRules());
    request.put("drift_trials", driftTrials);
    request.put("drift_tolerance", driftTolerance);
    if (!cpus.isEmpty()) {
      request.put("cpus", cpus);
    }
    if (referenceTiming != null) {
      Map<String, Object> cached = new LinkedHashMap<>();
      cached.put("medianMs", referenceTiming.medianMs());
      cached.put("meanMs", referenceTiming.meanMs());
      cached.put("stdMs", referenceTiming.stdMs());
      cached.put("minMs", referenceTiming.minMs());
      cached.put("maxMs", referenceTiming.maxMs());
      cached.put("trials", referenceTiming.trials());
      cached.put("syncMedianMs", referenceTiming.syncMedianMs());
      request.put("reference_timing", cached);
    }
    return write(json, request);
  }

  /** Publishes what a finished compile process built into the compile cache entry of its candidate. */
  public static void publish(Job job, Path scratch) {
    CompileCache.publish(scratch.resolve("build"), job.buildDir());
  }

  /**
   * Copies the candidate and problem sources into the process's scratch folder (read-only there): the sandbox sees
   * no other folder of the worker's.
   */
  private static Path stageSources(Job job, HarnessProcess process) {
    Path scratch = process.scratch();
    CompileCache.copyReadOnly(job.candidateFile(), scratch.resolve("candidate.py"));
    CompileCache.copyReadOnly(job.problemFile(), scratch.resolve("problem.py"));
    return scratch;
  }

  private static Map<String, Object> base(Job job, String mode, Path scratch) {
    Map<String, Object> request = new LinkedHashMap<>();
    request.put("id", job.candidate().id().value());
    request.put("mode", mode);
    request.put("problem_path", scratch.resolve("problem.py").toString());
    request.put("candidate_path", scratch.resolve("candidate.py").toString());
    request.put("backend", job.candidate().backend().wireName());
    request.put("build_dir", scratch.resolve("build").toString());
    request.put("ext_dir", scratch.resolve("build").resolve("ext").toString());
    request.put("scratch_dir", scratch.toString());
    request.put("token", UUID.randomUUID().toString());
    request.put("seed", job.settings().seed());
    request.put("extra", Map.of("problemId", job.problem().id()));
    return request;
  }

  private static String write(ObjectMapper json, Map<String, Object> request) {
    try {
      return json.writeValueAsString(request);
    } catch (JsonProcessingException e) {
      throw new IllegalStateException(e);
    }
  }

  private static Path writeOnce(Path file, String text) {
    try {
      if (Files.exists(file)) {
        return file;
      }
      Files.createDirectories(file.getParent());
      Path staging = Files.createTempFile(file.getParent(), ".write-", ".py");
      Files.writeString(staging, text, StandardCharsets.UTF_8);
      Files.move(staging, file, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
      return file;
    } catch (IOException e) {
      throw new UncheckedIOException("cannot write " + file, e);
    }
  }

  static String sha256(String text) {
    try {
      return HexFormat.of().formatHex(
          MessageDigest.getInstance("SHA-256").digest(text.getBytes(StandardCharsets.UTF_8)));
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException(e);
    }
  }
}

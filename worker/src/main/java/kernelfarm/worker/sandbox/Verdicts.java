package kernelfarm.worker.sandbox;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import kernelfarm.protocol.CandidateId;
import kernelfarm.protocol.Check;
import kernelfarm.protocol.CheckOutcome;
import kernelfarm.protocol.Redaction;
import kernelfarm.protocol.Status;
import kernelfarm.protocol.Verdict;

/**
 * Verdicts as the worker holds them: read from the harness's JSON, or written by the worker itself when the
 * harness could not (a kill at a time limit, or a crash).
 */
public final class Verdicts {
  private Verdicts() {}

  /** TIMEOUT when the worker killed the process at a stage limit, RUNTIME_ERROR when it died by itself. */
  public static Verdict killedOrDied(CandidateId id, String problemId, HarnessSession.Finished finished) {
    if (finished.forged()) {
      List<Check> checks = new ArrayList<>();
      HarnessNames.CHECKS.keySet().forEach(name -> checks.add(name.equals("timer_integrity")
          ? new Check(name, CheckOutcome.FAILED, "the candidate wrote " + finished.reason()
              + " on the harness's protocol channel: it tried to answer for the verifier")
          : new Check(name, CheckOutcome.SKIPPED, "not reached: the process was killed")));
      return new Verdict(id, problemId, Status.REJECTED, finished.stage(), Map.of(), null, null, checks, null, null,
          null, "Rejected by check 'timer_integrity': the candidate wrote to the verifier's own output channel.",
          List.of(HarnessProcess.logFile(finished.scratch()).toString()));
    }
    Status status = finished.timedOut() ? Status.TIMEOUT : Status.RUNTIME_ERROR;
    boolean overQuota = !finished.timedOut() && finished.reason() != null
        && finished.reason().startsWith(HarnessSession.OVER_QUOTA);
    String summary = overQuota
        ? "Stopped during " + finished.stage() + ": the candidate " + finished.reason().substring(
            HarnessSession.OVER_QUOTA.length()) + ", and what it wrote was deleted.\nNext: keep data in memory; "
            + "a kernel has no reason to write files."
        : finished.timedOut()
        ? "Timed out: the candidate " + finished.reason() + " and was killed. Look for an endless loop, a "
            + "deadlock, a kernel that never finishes, or work far larger than the problem needs."
        : "Crashed during " + finished.stage() + ": " + finished.reason()
            + "\nNext: check memory accesses (bounds, sizes, pointers); never end or fork the process.";
    List<Check> checks = new ArrayList<>();
    HarnessNames.CHECKS.keySet().forEach(name -> checks.add(new Check(name, CheckOutcome.SKIPPED,
        "not reached: the process " + (finished.timedOut() ? "was killed" : "died") + " at stage "
            + finished.stage())));
    return new Verdict(id, problemId, status, finished.stage(), Map.of(), null, null, checks, null, null, null,
        summary, List.of(HarnessProcess.logFile(finished.scratch()).toString()));
  }

  /**
   * The verifier itself failed twice on this candidate (a harness bug or a resource limit of its own): the
   * verdict says so plainly, so no one mistakes it for the candidate's error.
   */
  public static Verdict harnessError(CandidateId id, String problemId, HarnessSession.Finished finished,
      String error) {
    String[] lines = Redaction.scrub(error).strip().split("\n");
    String summary = "KernelFarm could not verify this candidate: the verification harness failed during "
        + finished.stage() + " (" + lines[lines.length - 1] + "). This is not a fault of the candidate.";
    List<Check> checks = new ArrayList<>();
    HarnessNames.CHECKS.keySet().forEach(name -> checks.add(new Check(name, CheckOutcome.SKIPPED, "not reached: harness error")));
    return new Verdict(id, problemId, Status.RUNTIME_ERROR, finished.stage(), Map.of(), null, null, checks, null,
        null, null, summary, List.of(HarnessProcess.logFile(finished.scratch()).toString()));
  }

  /**
   * The verdict a finished session stands for: the harness's own when it wrote one, a harness error when the
   * verifier failed, else the worker's account of the kill or crash.
   */
  public static Verdict of(ObjectMapper json, HarnessSession.Finished finished, CandidateId id, String problemId) {
    if (finished.result() != null && finished.result().has("verdict")) {
      return parse(json, finished.result().get("verdict"), finished.scratch());
    }
    if (finished.result() != null && "harness_error".equals(finished.result().path("event").asText())) {
      return harnessError(id, problemId, finished, finished.result().path("error").asText());
    }
    return killedOrDied(id, problemId, finished);
  }

  /** Longest part of a log the harness wrote that is kept beside the verdict. */
  private static final int LOG_BYTES = 1 << 20;

  /**
   * Copies a log the harness wrote in the sandbox's scratch folder out of the candidate's reach, capped and with
   * secrets removed; returns its path, or null for a name that is not a plain file name or a file that is not a
   * plain file (a link the candidate planted is never followed).
   */
  private static String keptLog(Path scratch, String name) {
    if (!name.matches("[A-Za-z0-9_.-]{1,64}") || name.equals("harness.log")) {
      return null;
    }
    Path from = scratch.resolve(name);
    Path to = scratch.resolveSibling(name);
    if (!Files.isRegularFile(from, LinkOption.NOFOLLOW_LINKS)) {
      return null;
    }
    try (InputStream in = Files.newInputStream(from, LinkOption.NOFOLLOW_LINKS)) {
      byte[] head = in.readNBytes(LOG_BYTES);
      String text = new String(head, StandardCharsets.UTF_8);
      Files.writeString(to, Redaction.scrub(text) + (in.read() >= 0 ? "\n[kfarm: log cut at 1 MiB]\n" : ""));
      return to.toString();
    } catch (IOException e) {
      return null;
    }
  }

  /**
   * Log names become paths on this host, so "full logs by reference" can be followed. Every string in it was
   * written inside the sandbox, so secrets are removed before it is read.
   */
  public static Verdict parse(ObjectMapper json, JsonNode verdict, Path scratch) {
    try {
      Verdict parsed = json.treeToValue(Redaction.scrub(verdict.deepCopy()), Verdict.class);
      List<String> logs = new ArrayList<>();
      for (String name : parsed.logs()) {
        String kept = keptLog(scratch, name);
        if (kept != null) {
          logs.add(kept);
        }
      }
      String harnessLog = HarnessProcess.logFile(scratch).toString();
      if (!logs.contains(harnessLog)) {
        logs.add(harnessLog);
      }
      return new Verdict(parsed.candidateId(), parsed.problemId(), parsed.status(), parsed.stage(),
          parsed.stageMillis(), parsed.correctness(), parsed.timing(), parsed.checks(), parsed.customKernel(),
          parsed.environment(), parsed.device(), parsed.summary(), logs, parsed.kernelbench());
    } catch (JsonProcessingException e) {
      throw new IllegalStateException("the harness wrote a verdict this worker cannot read: " + e.getMessage(), e);
    }
  }
}

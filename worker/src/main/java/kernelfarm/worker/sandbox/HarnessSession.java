package kernelfarm.worker.sandbox;

import com.fasterxml.jackson.databind.JsonNode;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Optional;
import java.util.function.Function;
import org.apache.pekko.actor.NoSerializationVerificationNeeded;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.Behavior;
import org.apache.pekko.actor.typed.PostStop;
import org.apache.pekko.actor.typed.javadsl.AbstractBehavior;
import org.apache.pekko.actor.typed.javadsl.ActorContext;
import org.apache.pekko.actor.typed.javadsl.Behaviors;
import org.apache.pekko.actor.typed.javadsl.Receive;
import org.apache.pekko.actor.typed.javadsl.TimerScheduler;

/**
 * Per request: owns one harness process while it serves one request, enforces each stage's time limit, answers
 * once with what happened, kills the process group and stops. A hung kernel, a crash or an endless loop costs
 * this session alone.
 */
public final class HarnessSession extends AbstractBehavior<HarnessSession.Command> {
  /** Local to the worker node: a session never leaves the JVM that owns its process. */
  public sealed interface Command extends NoSerializationVerificationNeeded {}

  private record Observed(HarnessProcess.Event event) implements Command {}

  private enum StageTimedOut implements Command { INSTANCE }

  private enum SessionTimedOut implements Command { INSTANCE }

  private enum ScratchCheck implements Command { INSTANCE }

  /** How often the scratch folder is measured: a process writing at disk speed overshoots its quota by this much. */
  private static final Duration SCRATCH_CHECK = Duration.ofMillis(500);

  /**
   * The stages a harness may announce. A stage line needs no token, so candidate code can write one: an unknown
   * name is taken as forged, and the whole session has one overall limit however often stages restart the clock.
   */
  static final java.util.Set<String> STAGES = java.util.Set.copyOf(HarnessNames.STAGES);

  /**
   * The one answer. {@code tag} is the caller's, so one message adapter can serve many sessions; {@code result}
   * is the harness's result line, or null when the process was killed or died: then {@code timedOut} says which,
   * {@code stage} where, and {@code reason} why.
   */
  public record Finished(String tag, JsonNode result, boolean timedOut, String stage, String reason, Path scratch)
      implements NoSerializationVerificationNeeded {
    /** Set when a result line came without this request's token: something other than the harness wrote it. */
    public boolean forged() {
      return result == null && reason != null && reason.startsWith(FORGED);
    }
  }

  static final String FORGED = "a result line without this request's token";
  static final String OVER_QUOTA = "the harness process was stopped: it ";

  private final String tag;
  private final String token;
  private final HarnessProcess process;
  private final Function<String, Duration> stageTimeout;
  private final ActorRef<Finished> replyTo;
  private final TimerScheduler<Command> timers;
  private String stage;
  private boolean answered;

  private HarnessSession(ActorContext<Command> context, TimerScheduler<Command> timers, String tag, String token,
      HarnessProcess process, String firstStage, Function<String, Duration> stageTimeout,
      ActorRef<Finished> replyTo) {
    super(context);
    this.tag = tag;
    this.token = token;
    this.timers = timers;
    this.process = process;
    this.stageTimeout = stageTimeout;
    this.replyTo = replyTo;
    this.stage = firstStage;
  }

  /** Sends {@code requestLine} to an already started (ideally ready) process and watches it. */
  public static Behavior<Command> create(String tag, HarnessProcess process, String requestLine, String firstStage,
      Function<String, Duration> stageTimeout, ActorRef<Finished> replyTo) {
    return Behaviors.setup(ctx -> Behaviors.withTimers(timers -> {
      HarnessSession session = new HarnessSession(ctx, timers, tag, tokenOf(requestLine), process, firstStage,
          stageTimeout, replyTo);
      timers.startSingleTimer(StageTimedOut.INSTANCE, stageTimeout.apply(firstStage));
      // Every stage at its own limit, once each: more than any honest run needs, and still finite.
      Duration overall = STAGES.stream().map(stageTimeout).reduce(Duration.ZERO, Duration::plus);
      timers.startSingleTimer(SessionTimedOut.INSTANCE, overall);
      timers.startTimerWithFixedDelay(ScratchCheck.INSTANCE, SCRATCH_CHECK);
      ActorRef<Command> self = ctx.getSelf();
      process.listen(event -> self.tell(new Observed(event)));
      process.send(requestLine);
      return session;
    }));
  }

  @Override
  public Receive<Command> createReceive() {
    return newReceiveBuilder()
        .onMessage(Observed.class, this::onObserved)
        .onMessageEquals(StageTimedOut.INSTANCE, this::onStageTimedOut)
        .onMessageEquals(SessionTimedOut.INSTANCE, this::onSessionTimedOut)
        .onMessageEquals(ScratchCheck.INSTANCE, this::onScratchCheck)
        .onSignal(PostStop.class, signal -> {
          process.kill();
          return this;
        })
        .build();
  }

  private Behavior<Command> onObserved(Observed observed) {
    if (observed.event() instanceof HarnessProcess.StageEntered entered) {
      if (!STAGES.contains(entered.stage())) {
        process.kill();
        return answer(new Finished(tag, null, false, stage, FORGED + " (a stage line naming no stage of the "
            + "harness) arrived during " + stage, process.scratch()));
      }
      stage = entered.stage();
      timers.startSingleTimer(StageTimedOut.INSTANCE, stageTimeout.apply(stage));
      return this;
    }
    if (observed.event() instanceof HarnessProcess.Result result) {
      if (!token.equals(result.line().path("token").asText())) {
        // Candidate code shares the harness's process; a line it wrote must never pass for the verdict.
        process.kill();
        return answer(new Finished(tag, null, false, stage, FORGED + " arrived during " + stage, process.scratch()));
      }
      return answer(new Finished(tag, result.line(), false, stage, null, process.scratch()));
    }
    HarnessProcess.Exited exited = (HarnessProcess.Exited) observed.event();
    return answer(new Finished(tag, null, false, stage, describeExit(exited), process.scratch()));
  }

  private Behavior<Command> onStageTimedOut() {
    process.kill();
    return answer(new Finished(tag, null, true, stage,
        "exceeded the " + stageTimeout.apply(stage).toSeconds() + " s limit of stage " + stage, process.scratch()));
  }

  private Behavior<Command> onScratchCheck() {
    Optional<String> exceeded = process.scratchExceeded();
    if (exceeded.isEmpty()) {
      return this;
    }
    process.kill();
    // What it wrote is nobody's: the disk gets its room back now, not when the run folder expires. Its logs live
    // beside the scratch folder and stay.
    HarnessInstall.delete(process.scratch());
    return answer(new Finished(tag, null, false, stage, OVER_QUOTA + exceeded.get(), process.scratch()));
  }

  private Behavior<Command> onSessionTimedOut() {
    process.kill();
    return answer(new Finished(tag, null, true, stage, "exceeded the overall limit of a verification (every "
        + "stage's limit together) while in stage " + stage, process.scratch()));
  }

  private Behavior<Command> answer(Finished finished) {
    if (!answered) {
      answered = true;
      // Dead before anyone reads what it left: nothing of the candidate's may still be writing.
      process.kill();
      replyTo.tell(finished);
    }
    return Behaviors.stopped();
  }

  private static String tokenOf(String requestLine) {
    int at = requestLine.indexOf("\"token\":\"");
    if (at < 0) {
      return "";
    }
    int start = at + "\"token\":\"".length();
    return requestLine.substring(start, requestLine.indexOf('"', start));
  }

  static String describeExit(HarnessProcess.Exited exited) {
    int code = exited.code();
    String how = code > 128 ? "was killed by signal " + (code - 128) + signalName(code - 128)
        : "exited with status " + code;
    String tail = exited.stderrTail().isBlank() ? "" : "; last output:\n" + exited.stderrTail();
    return "the harness process " + how + tail;
  }

  private static String signalName(int signal) {
    return switch (signal) {
      case 6 -> " (SIGABRT)";
      case 9 -> " (SIGKILL: out of memory or a limit)";
      case 11 -> " (SIGSEGV: invalid memory access)";
      case 24 -> " (SIGXCPU: CPU time limit)";
      case 25 -> " (SIGXFSZ: file size limit)";
      default -> "";
    };
  }
}

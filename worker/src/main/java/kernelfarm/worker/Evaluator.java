package kernelfarm.worker;

import java.time.Duration;
import java.util.ArrayDeque;
import java.util.Deque;
import java.util.HashMap;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import kernelfarm.protocol.Backend;
import kernelfarm.protocol.Stats;
import kernelfarm.worker.device.Device;
import kernelfarm.worker.sandbox.HarnessLauncher;
import kernelfarm.worker.sandbox.HarnessProcess;
import kernelfarm.worker.sandbox.HarnessRequests;
import kernelfarm.worker.sandbox.HarnessSession;
import kernelfarm.worker.sandbox.SandboxEnvironment.Role;
import org.apache.pekko.actor.NoSerializationVerificationNeeded;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.Behavior;
import org.apache.pekko.actor.typed.DispatcherSelector;
import org.apache.pekko.actor.typed.PostStop;
import org.apache.pekko.actor.typed.PreRestart;
import org.apache.pekko.actor.typed.javadsl.AbstractBehavior;
import org.apache.pekko.actor.typed.javadsl.ActorContext;
import org.apache.pekko.actor.typed.javadsl.Behaviors;
import org.apache.pekko.actor.typed.javadsl.Receive;
import org.apache.pekko.actor.typed.javadsl.TimerScheduler;

/**
 * A GpuWorker's supervised child that owns its device's evaluation processes, as the distributed-workers sample's
 * WorkExecutor owns the work: it keeps spares started (torch imported, CUDA context up) so the device never waits
 * for an interpreter, runs one evaluation at a time on a spare, and decides when the device is unhealthy and when
 * a health check has shown it well again. The parent keeps the protocol with the cluster (leases, verdicts).
 *
 * <p>It runs on the worker's blocking dispatcher: starting a process, writing the files a request points to and
 * killing a process group all block. Every answer goes to the parent given at creation. A restart or stop kills
 * every process it started and declines what it was asked, so the parent never waits for an answer that died.
 */
public final class Evaluator extends AbstractBehavior<Evaluator.Command> {
  /** Local to the worker node. */
  public sealed interface Command extends NoSerializationVerificationNeeded {}

  /**
   * Evaluate this compiled job on a warm process. Answers {@link Evaluated}, or {@link Declined} when the device
   * goes out of service (or this actor restarts) before the evaluation ends. One at a time: a second Evaluate
   * while one waits for a process replaces nothing and is declined.
   *
   * @param cachedReference this problem's reference timing on this device, to re-measure for drift; or null
   */
  public record Evaluate(String leaseId, HarnessRequests.Job job, Stats cachedReference) implements Command {}

  /** What the parent hears. */
  public sealed interface Outcome extends NoSerializationVerificationNeeded {}

  /** The session's answer for this lease; the parent makes the verdict. */
  public record Evaluated(String leaseId, HarnessSession.Finished finished) implements Outcome {}

  /** This lease was not evaluated, and will not be unless asked again. */
  public record Declined(String leaseId, String reason) implements Outcome {}

  /** Evaluation processes keep failing to start: the device is out of service until {@link Healthy}. */
  public record Unhealthy(String reason) implements Outcome {}

  /** A health check passed after {@link Unhealthy}: the device takes work again. */
  public record Healthy() implements Outcome {}

  private record SpareReady(HarnessProcess process) implements Command {}

  private record SpareFailed(HarnessProcess process, String reason) implements Command {}

  private record SessionFinished(String leaseId, HarnessSession.Finished finished) implements Command {}

  private record HealthChecked(HealthCheck.Result result) implements Command {}

  private enum StartSpares implements Command { INSTANCE }

  private enum CheckHealth implements Command { INSTANCE }

  /** After this many evaluation processes in a row fail to come up, the device is declared unhealthy. */
  static final int UNHEALTHY_AFTER = 5;

  private final Device device;
  private final WorkerSettings settings;
  private final HarnessLauncher launcher;
  private final WorkerMetrics metrics;
  private final ActorRef<Outcome> parent;
  private final TimerScheduler<Command> timers;
  private final ActorRef<HarnessSession.Finished> sessionAdapter;
  private final ActorRef<HealthCheck.Result> healthAdapter;
  private final Deque<HarnessProcess> warm = new ArrayDeque<>();
  /** Processes started and not yet ready, with when each was started. */
  private final Map<HarnessProcess, Long> starting = new HashMap<>();
  private Evaluate pending;
  private Evaluate running;
  private long runningSince;
  /** Moving averages of how long a process takes to become ready and an evaluation takes; 0 = not yet seen. */
  private double readySeconds;
  private double evaluationSeconds;
  private int spareFailures;
  private boolean unhealthy;
  private int failedHealthChecks;
  /** A health check is running while the device stays in service: a candidate reported a CUDA error. */
  private boolean suspect;

  private Evaluator(ActorContext<Command> context, TimerScheduler<Command> timers, Device device,
      WorkerSettings settings, HarnessLauncher launcher, WorkerMetrics metrics, ActorRef<Outcome> parent) {
    super(context);
    this.metrics = metrics;
    this.timers = timers;
    this.device = device;
    this.settings = settings;
    this.launcher = launcher;
    this.parent = parent;
    // One adapter for every session: a second registration would replace the first, so answers carry the lease.
    this.sessionAdapter = context.messageAdapter(HarnessSession.Finished.class,
        finished -> new SessionFinished(finished.tag(), finished));
    this.healthAdapter = context.messageAdapter(HealthCheck.Result.class, HealthChecked::new);
    startSpares();
  }

  /** Spawn it on {@link WorkerSettings#BLOCKING_DISPATCHER}: its handlers block. */
  public static Behavior<Command> create(Device device, WorkerSettings settings, HarnessLauncher launcher,
      WorkerMetrics metrics, ActorRef<Outcome> parent) {
    return Behaviors.setup(ctx -> Behaviors.withTimers(timers ->
        new Evaluator(ctx, timers, device, settings, launcher, metrics, parent)));
  }

  /** With metrics nobody scrapes: for tests of the Evaluator alone. */
  public static Behavior<Command> create(Device device, WorkerSettings settings, HarnessLauncher launcher,
      ActorRef<Outcome> parent) {
    return create(device, settings, launcher, WorkerMetrics.unscraped(), parent);
  }

  @Override
  public Receive<Command> createReceive() {
    return newReceiveBuilder()
        .onMessage(Evaluate.class, this::onEvaluate)
        .onMessage(SpareReady.class, this::onSpareReady)
        .onMessage(SpareFailed.class, this::onSpareFailed)
        .onMessage(SessionFinished.class, this::onSessionFinished)
        .onMessage(HealthChecked.class, this::onHealthChecked)
        .onMessageEquals(StartSpares.INSTANCE, () -> {
          startSpares();
          return this;
        })
        .onMessageEquals(CheckHealth.INSTANCE, () -> {
          checkHealth();
          return this;
        })
        .onSignal(PreRestart.class, signal -> stopEverything("the evaluator restarted"))
        .onSignal(PostStop.class, signal -> stopEverything("the evaluator stopped"))
        .build();
  }

  private Behavior<Command> onEvaluate(Evaluate evaluate) {
    if (unhealthy || pending != null) {
      parent.tell(new Declined(evaluate.leaseId(), unhealthy ? "the device is out of service"
          : "another evaluation is already waiting for a process"));
      return this;
    }
    pending = evaluate;
    runPending();
    return this;
  }

  private void runPending() {
    if (running != null || pending == null || warm.isEmpty()) {
      return;
    }
    running = pending;
    pending = null;
    runningSince = System.nanoTime();
    HarnessProcess process = warm.poll();
    warmChanged();
    String request = HarnessRequests.evaluate(launcher.json(), running.job(), process, "evaluate",
        running.cachedReference(), settings.driftTrials(), settings.driftTolerance(),
        launcher.cores().timedFor(device.index()));
    getContext().spawnAnonymous(HarnessSession.create(running.leaseId(), process, request, "load",
        settings::stageTimeout, sessionAdapter), DispatcherSelector.sameAsParent());
    startSpares();
  }

  private Behavior<Command> onSessionFinished(SessionFinished finished) {
    if (running == null || !running.leaseId().equals(finished.leaseId())) {
      return this;
    }
    Duration took = Duration.ofNanos(System.nanoTime() - runningSince);
    evaluationSeconds = movingAverage(evaluationSeconds, took.toNanos() / 1e9);
    metrics.evaluated(took);
    if (finished.finished().result() == null) {
      // No answer line: the session killed the process at a stage limit, or it died (the candidate's crash).
      metrics.harnessReplaced(WorkerMetrics.HarnessRole.evaluate, finished.finished().timedOut()
          ? WorkerMetrics.RestartReason.timed_out : WorkerMetrics.RestartReason.died);
    }
    running = null;
    parent.tell(new Evaluated(finished.leaseId(), finished.finished()));
    if (finished.finished().result() != null
        && finished.finished().result().path("verdict").path("devicePoisoned").asBoolean(false)
        && !unhealthy && !suspect) {
      // The candidate's CUDA context is gone with its process, and usually that is all; an error that took the
      // device with it (an Xid) would fail every later candidate as theirs. A health check tells the two apart;
      // the device keeps working meanwhile, since a broken one also fails the next process to start.
      suspect = true;
      checkHealth();
    }
    runPending();
    return this;
  }

  /** Keeps enough processes started or ready that one is ready when the device frees up; see {@link #sparesToKeep}. */
  private void startSpares() {
    Backend warmFor = device.gpu() ? Backend.TRITON : Backend.CPU;
    int wanted = device.gpu()
        ? sparesToKeep(readySeconds, evaluationSeconds, settings.warmEvaluators(), settings.warmEvaluatorsMax())
        : settings.warmEvaluators();
    while (!unhealthy && !timers.isTimerActive(StartSpares.INSTANCE) && starting.size() + warm.size() < wanted) {
      HarnessProcess process;
      try {
        process = launcher.start(Role.EVALUATE, warmFor, device);
      } catch (RuntimeException e) {
        spareFailed(rootMessage(e));
        return;
      }
      starting.put(process, System.nanoTime());
      getContext().pipeToSelf(process.ready().toCompletableFuture()
              .orTimeout(settings.stageTimeout("ready").toMillis(), TimeUnit.MILLISECONDS),
          (ready, failure) -> failure == null ? new SpareReady(process)
              : new SpareFailed(process, rootMessage(failure)));
    }
  }

  /**
   * Processes to keep started or ready: a spare handed out now is replaced by one that is ready after
   * {@code readySeconds}, during which the device evaluates about readySeconds / evaluationSeconds candidates, each
   * taking a spare. Between {@code min} and {@code max}; {@code min} until both durations have been seen.
   */
  static int sparesToKeep(double readySeconds, double evaluationSeconds, int min, int max) {
    if (readySeconds <= 0 || evaluationSeconds <= 0) {
      return min;
    }
    int needed = (int) Math.ceil(readySeconds / evaluationSeconds) + 1;
    return Math.max(min, Math.min(max, needed));
  }

  /** Weighs the latest sample by a quarter: follows a change within a few candidates, shrugs off one outlier. */
  private static double movingAverage(double average, double sample) {
    return average <= 0 ? sample : 0.75 * average + 0.25 * sample;
  }

  private Behavior<Command> onSpareReady(SpareReady ready) {
    Long startedAt = starting.remove(ready.process());
    if (startedAt == null) {
      return this; // killed already, with the device's other spares
    }
    readySeconds = movingAverage(readySeconds, (System.nanoTime() - startedAt) / 1e9);
    warm.add(ready.process());
    warmChanged();
    spareFailures = 0;
    runPending();
    startSpares();
    return this;
  }

  private Behavior<Command> onSpareFailed(SpareFailed failed) {
    if (starting.remove(failed.process()) == null) {
      return this;
    }
    failed.process().kill();
    spareFailed(failed.reason());
    return this;
  }

  private void spareFailed(String reason) {
    metrics.harnessReplaced(WorkerMetrics.HarnessRole.evaluate, WorkerMetrics.RestartReason.failed_to_start);
    spareFailures++;
    if (spareFailures >= UNHEALTHY_AFTER) {
      takeOutOfService(reason);
      return;
    }
    Duration backoff = settings.healthRetry(spareFailures);
    getContext().getLog().atWarn().addKeyValue("device", device.index()).addKeyValue("reason", reason)
        .addKeyValue("retryIn", backoff).log("evaluation process failed to start; retrying");
    timers.startSingleTimer(StartSpares.INSTANCE, backoff);
  }

  /**
   * The evaluation in progress has its process and finishes; the one waiting for a process is declined, so the
   * parent can hand its lease back at once. Then the device is checked until a check passes.
   */
  private void takeOutOfService(String reason) {
    unhealthy = true;
    timers.cancel(StartSpares.INSTANCE);
    killSpares();
    if (pending != null) {
      parent.tell(new Declined(pending.leaseId(), "the device is out of service"));
      pending = null;
    }
    parent.tell(new Unhealthy(reason));
    checkHealth();
  }

  private void checkHealth() {
    getContext().spawnAnonymous(HealthCheck.create(device, launcher, healthAdapter), DispatcherSelector.sameAsParent());
  }

  private Behavior<Command> onHealthChecked(HealthChecked checked) {
    if (suspect) {
      suspect = false;
      if (checked.result().healthy()) {
        getContext().getLog().atInfo().addKeyValue("device", device.index())
            .log("health check after a candidate's CUDA error passed; the device stays in service");
      } else if (!unhealthy) {
        takeOutOfService("a health check after a candidate's CUDA error failed: " + checked.result().reason());
      }
      return this;
    }
    if (!unhealthy) {
      return this;
    }
    if (!checked.result().healthy()) {
      failedHealthChecks++;
      Duration backoff = settings.healthRetry(failedHealthChecks);
      getContext().getLog().atWarn().addKeyValue("device", device.index())
          .addKeyValue("reason", checked.result().reason()).addKeyValue("retryIn", backoff)
          .log("health check failed; the device stays out of service");
      timers.startSingleTimer(CheckHealth.INSTANCE, backoff);
      return this;
    }
    unhealthy = false;
    spareFailures = 0;
    failedHealthChecks = 0;
    parent.tell(new Healthy());
    startSpares();
    return this;
  }

  /**
   * A restarted instance starts spares of its own and nothing would know these: each would hold a CUDA context
   * (and on a GPU some device memory) until the node stops. The session in progress is a child, stopped with its
   * process along with this actor's children; its lease and the waiting one are declined, so the parent never
   * waits for an answer that died here.
   */
  private Behavior<Command> stopEverything(String reason) {
    killSpares();
    for (Evaluate asked : new Evaluate[] {running, pending}) {
      if (asked != null) {
        parent.tell(new Declined(asked.leaseId(), reason));
      }
    }
    running = null;
    pending = null;
    return this;
  }

  private void killSpares() {
    warm.forEach(HarnessProcess::kill);
    starting.keySet().forEach(HarnessProcess::kill);
    warm.clear();
    starting.clear();
    warmChanged();
  }

  /** The parent reports this count in its DeviceReport; a restarted instance starts again from none. */
  private void warmChanged() {
    metrics.device(device.index()).warmEvaluators(warm.size());
  }

  static String rootMessage(Throwable failure) {
    Throwable t = failure;
    while (t.getCause() != null) {
      t = t.getCause();
    }
    return t.getMessage() == null ? t.toString() : t.getMessage();
  }
}

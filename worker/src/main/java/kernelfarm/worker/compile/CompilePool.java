package kernelfarm.worker.compile;

import com.fasterxml.jackson.databind.JsonNode;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import kernelfarm.protocol.Backend;
import kernelfarm.protocol.Candidate;
import kernelfarm.protocol.Problem;
import kernelfarm.protocol.Status;
import kernelfarm.protocol.Verdict;
import kernelfarm.protocol.VerifySettings;
import kernelfarm.worker.WorkerMetrics;
import kernelfarm.worker.device.Device;
import kernelfarm.worker.sandbox.HarnessLauncher;
import kernelfarm.worker.sandbox.HarnessProcess;
import kernelfarm.worker.sandbox.HarnessRequests;
import kernelfarm.worker.sandbox.HarnessSession;
import kernelfarm.worker.sandbox.SandboxEnvironment.Role;
import kernelfarm.worker.sandbox.Verdicts;
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

/**
 * One per worker node: builds candidates' extensions on the CPU, in processes that see no GPU, while the GPUs
 * evaluate earlier candidates. Builds land in a folder keyed by the hash of the source (the compile cache shared
 * by the host's devices), so the same source is built once however many devices or leases ask; concurrent asks
 * for one source share one build.
 *
 * <p>Compile processes are started ahead (torch imported) so a slot never waits for an interpreter. Spawn it on
 * the worker's blocking dispatcher ({@code WorkerSettings.BLOCKING_DISPATCHER}): it starts processes and writes
 * sources and builds in its handlers, and its sessions (on the same dispatcher) kill process groups.
 */
public final class CompilePool extends AbstractBehavior<CompilePool.Command> {
  /** Local to the worker node: builds never leave the host that made them. */
  public sealed interface Command extends NoSerializationVerificationNeeded {}

  /** Build what the candidate needs. Answers {@link Compiled} once; a repeat for the same source is cheap. */
  public record Compile(Candidate candidate, Problem problem, VerifySettings settings, ActorRef<Compiled> replyTo)
      implements Command {}

  /**
   * The job, ready for evaluation, or the verdict that ends it here.
   *
   * @param compileError non-null when the candidate cannot run at all (COMPILE_ERROR, or TIMEOUT while building)
   * @param cacheHit the same source had been compiled before on this node
   */
  public record Compiled(HarnessRequests.Job job, Verdict compileError, double millis, boolean cacheHit)
      implements NoSerializationVerificationNeeded {}

  private record JobFinished(HarnessSession.Finished finished) implements Command {}

  private static final int REMEMBERED = 10_000;
  /** The session tag of the precompiled-header build; job tags are hex hashes, so they never collide with it. */
  private static final String HEADERS = "headers";

  private final HarnessLauncher launcher;
  private final WorkerMetrics metrics;
  private final Device hostDevice;
  private final Backend processBackend;
  private final Deque<HarnessProcess> spares = new ArrayDeque<>();
  private final Deque<Compile> queue = new ArrayDeque<>();
  private final Map<String, List<Compile>> inFlight = new HashMap<>();
  private final Map<String, HarnessRequests.Job> running = new HashMap<>();
  /** When each running compile's request was sent (System.nanoTime), by build key. */
  private final Map<String, Long> runningSince = new HashMap<>();
  private final ActorRef<HarnessSession.Finished> finishedAdapter;
  /** The published precompiled torch/extension.h, offered to every build from then on; null until then. */
  private Path headers;
  private final Map<String, Compiled> done = new LinkedHashMap<>(16, 0.75f, true) {
    @Override
    protected boolean removeEldestEntry(Map.Entry<String, Compiled> eldest) {
      return size() > REMEMBERED;
    }
  };

  private CompilePool(ActorContext<Command> context, HarnessLauncher launcher, Device hostDevice,
      WorkerMetrics metrics) {
    super(context);
    this.launcher = launcher;
    this.metrics = metrics;
    this.hostDevice = hostDevice;
    this.processBackend = hostDevice.gpu() ? Backend.CUDA : Backend.CPU;
    // One adapter for every session: a second registration would replace the first, so replies carry their key.
    this.finishedAdapter = context.messageAdapter(HarnessSession.Finished.class, JobFinished::new);
    if (launcher.settings().precompilesHeaders(hostDevice.gpu())) {
      precompileHeaders();
    }
    for (int i = 0; i < launcher.settings().compileSlots(); i++) {
      spares.add(launcher.start(Role.COMPILE, processBackend, hostDevice));
    }
  }

  /**
   * Starts the one build of torch/extension.h for this host (harness/headers.py), in a compile process of its own
   * that is given no candidate. Builds started before it is published go without it.
   */
  private void precompileHeaders() {
    Path entry = HarnessRequests.headersDir(launcher.settings().workDir(), launcher.harnessRoot(),
        launcher.toolchain());
    if (Files.isDirectory(entry)) {
      headers = entry;
      return;
    }
    HarnessProcess process = launcher.start(Role.COMPILE, processBackend, hostDevice);
    getContext().spawnAnonymous(HarnessSession.create(HEADERS, process,
        HarnessRequests.headers(launcher.json(), processBackend, process), "start",
        stage -> launcher.settings().stageTimeout("ready").plus(launcher.settings().stageTimeout("build")),
        finishedAdapter), DispatcherSelector.sameAsParent());
  }

  private void onHeadersBuilt(HarnessSession.Finished outcome) {
    JsonNode result = outcome.result();
    if (result != null && result.path("ok").asBoolean(false)) {
      Path entry = HarnessRequests.headersDir(launcher.settings().workDir(), launcher.harnessRoot(),
          launcher.toolchain());
      HarnessRequests.publishHeaders(outcome.scratch(), entry);
      headers = Files.isDirectory(entry) ? entry : null;
      getContext().getLog().atInfo().addKeyValue("seconds", result.path("millis").asDouble() / 1000)
          .addKeyValue("bytes", result.path("bytes").asLong()).addKeyValue("published", headers != null)
          .log("precompiled torch/extension.h for C++ builds");
    } else {
      String why = result != null ? result.path("error").asText() : outcome.reason();
      getContext().getLog().atWarn().addKeyValue("reason", why)
          .log("could not precompile torch/extension.h; C++ builds parse it each time");
    }
  }

  /** {@code hostDevice} names the architecture builds target (the host's GPUs are assumed alike). */
  public static Behavior<Command> create(HarnessLauncher launcher, Device hostDevice, WorkerMetrics metrics) {
    return Behaviors.setup(ctx -> new CompilePool(ctx, launcher, hostDevice, metrics));
  }

  /** With metrics nobody scrapes: for tests of the pool alone. */
  public static Behavior<Command> create(HarnessLauncher launcher, Device hostDevice) {
    return create(launcher, hostDevice, WorkerMetrics.unscraped());
  }

  @Override
  public Receive<Command> createReceive() {
    return newReceiveBuilder()
        .onMessage(Compile.class, this::onCompile)
        .onMessage(JobFinished.class, this::onJobFinished)
        .onSignal(PreRestart.class, signal -> giveUp())
        .onSignal(PostStop.class, signal -> giveUp())
        .build();
  }

  /**
   * On a restart or stop. A restarted pool starts spares of its own, so these are killed (running compiles are
   * child sessions, stopped with their processes). Every asker still waiting is answered now, since a fresh pool
   * knows nothing of them: "no compile error", which decides nothing, and the evaluation builds whatever is
   * missing, as after a compile process that died by itself. Without this answer a GpuWorker would renew that
   * lease forever for a build nobody runs.
   */
  private Behavior<Command> giveUp() {
    spares.forEach(HarnessProcess::kill);
    spares.clear();
    inFlight.values().forEach(waiting -> waiting.forEach(compile ->
        compile.replyTo().tell(new Compiled(job(compile), null, 0, false))));
    inFlight.clear();
    queue.clear();
    // The sessions stop with this instance; a restarted one starts with no compile running.
    metrics.compileSlotsBusy(0);
    return this;
  }

  private Behavior<Command> onCompile(Compile compile) {
    HarnessRequests.Job job = job(compile);
    String key = job.buildDir().getFileName().toString();
    Compiled previous = done.get(key);
    if (previous == null && Files.isDirectory(job.buildDir())) {
      // Published by this node before it restarted; a failed build in it fails again, at once, in evaluation.
      previous = new Compiled(job, null, 0, true);
      done.put(key, previous);
    }
    if (previous != null) {
      compile.replyTo().tell(new Compiled(job, rebind(previous.compileError(), compile), 0, true));
      return this;
    }
    List<Compile> waiting = inFlight.get(key);
    if (waiting != null) {
      waiting.add(compile);
      return this;
    }
    inFlight.put(key, new ArrayList<>(List.of(compile)));
    queue.add(compile);
    startQueued();
    return this;
  }

  private void startQueued() {
    while (running.size() < launcher.settings().compileSlots() && !queue.isEmpty()) {
      Compile compile = queue.poll();
      HarnessRequests.Job job = job(compile);
      HarnessProcess process = spares.isEmpty() ? launcher.start(Role.COMPILE, processBackend, hostDevice)
          : spares.poll();
      spares.add(launcher.start(Role.COMPILE, processBackend, hostDevice));
      String key = job.buildDir().getFileName().toString();
      running.put(key, job);
      runningSince.put(key, System.nanoTime());
      metrics.compileSlotsBusy(running.size());
      getContext().spawnAnonymous(HarnessSession.create(key, process,
          HarnessRequests.compile(launcher.json(), job, process, headers), "start",
          stage -> switch (stage) {
            // The clock starts when the request is sent, while a spare may still be importing torch.
            case "start" -> launcher.settings().stageTimeout("compile").plus(launcher.settings().stageTimeout("ready"));
            case "probe", "build" -> launcher.settings().stageTimeout(stage);
            default -> launcher.settings().stageTimeout("compile");
          },
          finishedAdapter), DispatcherSelector.sameAsParent());
    }
  }

  private Behavior<Command> onJobFinished(JobFinished finished) {
    HarnessSession.Finished outcome = finished.finished();
    String key = outcome.tag();
    if (key.equals(HEADERS)) {
      onHeadersBuilt(outcome);
      return this;
    }
    HarnessRequests.Job job = running.remove(key);
    metrics.compileSlotsBusy(running.size());
    Long since = runningSince.remove(key);
    if (since != null) {
      metrics.compiled(java.time.Duration.ofNanos(System.nanoTime() - since));
    }
    if (outcome.result() == null) {
      metrics.harnessReplaced(WorkerMetrics.HarnessRole.compile, outcome.timedOut()
          ? WorkerMetrics.RestartReason.timed_out : WorkerMetrics.RestartReason.died);
    }
    HarnessRequests.publish(job, outcome.scratch());
    Verdict error = null;
    double millis = 0;
    if (outcome.result() != null) {
      JsonNode line = outcome.result();
      millis = line.path("compileMillis").asDouble(0);
      if (line.has("verdict")) {
        error = Verdicts.parse(launcher.json(), line.get("verdict"), outcome.scratch());
        millis = error.stageMillis().getOrDefault("compile", 0.0);
      }
    } else if (outcome.timedOut() && !outcome.stage().equals("probe")) {
      error = Verdicts.killedOrDied(job.candidate().id(), job.problem().id(), outcome);
    }
    // A compile process that died by itself (a candidate crashing on meta tensors), or was stopped while probing
    // forward for lazy builds, decides nothing: the evaluation builds whatever is still missing.
    Compiled compiled = new Compiled(job, error, millis, false);
    if (error == null || error.status() == Status.COMPILE_ERROR) {
      done.put(key, compiled);
    }
    for (Compile waiting : inFlight.getOrDefault(key, List.of())) {
      waiting.replyTo().tell(new Compiled(job(waiting), rebind(error, waiting), millis, false));
    }
    inFlight.remove(key);
    startQueued();
    return this;
  }

  private HarnessRequests.Job job(Compile compile) {
    Path buildDir = HarnessRequests.buildDir(launcher.settings().workDir(), compile.candidate(),
        archList(), launcher.harnessRoot(), launcher.toolchain());
    return HarnessRequests.prepare(launcher.settings().workDir(), compile.candidate(), compile.problem(), buildDir,
        compile.settings());
  }

  private String archList() {
    String configured = launcher.settings().cudaArchList();
    return configured.isBlank() ? hostDevice.archList() : configured;
  }

  /** A cached compile error answers another candidate id with the same source (another problem or lease). */
  private static Verdict rebind(Verdict error, Compile compile) {
    if (error == null || error.candidateId().equals(compile.candidate().id())) {
      return error;
    }
    return new Verdict(compile.candidate().id(), compile.problem().id(), error.status(), error.stage(),
        error.stageMillis(), error.correctness(), error.timing(), error.checks(), error.customKernel(),
        error.environment(), error.device(), error.summary(), error.logs(), error.kernelbench());
  }
}

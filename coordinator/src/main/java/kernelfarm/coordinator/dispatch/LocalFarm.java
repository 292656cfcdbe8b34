package kernelfarm.coordinator.dispatch;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.typesafe.config.Config;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CompletionStage;
import kernelfarm.protocol.Candidate;
import kernelfarm.protocol.DispatcherProtocol;
import kernelfarm.protocol.Problem;
import kernelfarm.protocol.Verdict;
import kernelfarm.protocol.VerifySettings;
import kernelfarm.worker.WorkerNode;
import kernelfarm.worker.WorkerSettings;
import kernelfarm.worker.device.Device;
import kernelfarm.worker.device.DeviceInventory;
import kernelfarm.worker.sandbox.HarnessLauncher;
import kernelfarm.worker.sandbox.HarnessRequests;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.actor.typed.javadsl.AskPattern;
import org.apache.pekko.actor.typed.javadsl.Behaviors;
import org.apache.pekko.serialization.jackson.JacksonObjectMapperProvider;

/**
 * A Dispatcher and a worker node in one local actor system: what {@code kfarm verify} and the benchmarks run.
 * The GpuWorkers, CompilePool and harness processes are exactly those a cluster's worker nodes run; only the
 * Dispatcher is local instead of a cluster singleton.
 */
public final class LocalFarm implements AutoCloseable {
  /** Verifying a whole folder can take hours; the per-stage limits are what bound each candidate. */
  private static final Duration VERDICT_WAIT = Duration.ofHours(12);

  private final ActorSystem<Void> system;
  private final ActorRef<DispatcherProtocol.Command> dispatcher;
  private final WorkerNode.Started worker;

  private LocalFarm(ActorSystem<Void> system, ActorRef<DispatcherProtocol.Command> dispatcher,
      WorkerNode.Started worker) {
    this.system = system;
    this.dispatcher = dispatcher;
    this.worker = worker;
  }

  public static LocalFarm start(Config config, WorkerSettings settings) {
    return start(config, settings, DeviceInventory.discover(settings.devices()));
  }

  /** With a given inventory: how tests pin workers to devices this host does not have. */
  public static LocalFarm start(Config config, WorkerSettings settings, List<Device> devices) {
    ActorSystem<Void> system = ActorSystem.create(Behaviors.empty(), "KernelFarm", config);
    try {
      ActorRef<DispatcherProtocol.Command> dispatcher = system.systemActorOf(
          Dispatcher.create(Clock.systemUTC(), settings.lease()), DispatcherProtocol.SINGLETON_NAME,
          org.apache.pekko.actor.typed.Props.empty());
      WorkerNode.Started worker = WorkerNode.init(system, settings, devices, dispatcher);
      return new LocalFarm(system, dispatcher, worker);
    } catch (RuntimeException e) {
      system.terminate();
      throw e;
    }
  }

  /** Completes with the verdict once a GpuWorker has judged the candidate (or the cache had it). */
  public CompletionStage<Verdict> verify(Candidate candidate, Problem problem, VerifySettings settings) {
    return AskPattern.<DispatcherProtocol.Command, DispatcherProtocol.VerdictReady>ask(dispatcher,
            replyTo -> new DispatcherProtocol.SubmitCandidate(candidate, problem, settings, replyTo,
                system.ignoreRef()),
            VERDICT_WAIT, system.scheduler())
        .thenApply(DispatcherProtocol.VerdictReady::verdict);
  }

  public List<Device> devices() {
    return worker.devices();
  }

  public ActorSystem<Void> system() {
    return system;
  }

  public WorkerNode.Started worker() {
    return worker;
  }

  public ObjectMapper json() {
    return JacksonObjectMapperProvider.get(system).getOrCreate("jackson-json", Optional.empty());
  }

  @Override
  public void close() {
    system.terminate();
    try {
      system.getWhenTerminated().toCompletableFuture().get();
    } catch (Exception e) {
      Thread.currentThread().interrupt();
    }
  }

  /**
   * A host builds its precompiled torch/extension.h once, when its worker first starts (CompilePool). A benchmark
   * measures a host past that, and its baseline must not share cores with that build either: waits for it (at most
   * 4 minutes: a failed build is logged and the farm builds without it) and says how long it took.
   */
  public void awaitPrecompiledHeaders(Device device, String who) throws InterruptedException {
    HarnessLauncher launcher = worker().launcher();
    if (!launcher.settings().precompilesHeaders(device.gpu())) {
      return;
    }
    Path entry = HarnessRequests.headersDir(launcher.settings().workDir(), launcher.harnessRoot(),
        launcher.toolchain());
    long started = System.nanoTime();
    while (!Files.isDirectory(entry) && System.nanoTime() - started < 240e9) {
      Thread.sleep(500);
    }
    System.err.printf("%s: precompiled torch/extension.h %s after %.0f s (once per host, before "
        + "anything timed)%n", who, Files.isDirectory(entry) ? "ready" : "NOT ready",
        (System.nanoTime() - started) / 1e9);
  }
}

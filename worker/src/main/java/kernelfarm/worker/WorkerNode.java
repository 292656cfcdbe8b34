package kernelfarm.worker;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import kernelfarm.protocol.DispatcherProtocol;
import kernelfarm.worker.compile.CompilePool;
import kernelfarm.worker.device.CorePlan;
import kernelfarm.worker.device.Device;
import kernelfarm.worker.device.DeviceInventory;
import kernelfarm.worker.sandbox.HarnessLauncher;
import kernelfarm.worker.sandbox.VerdictLogReader;
import org.apache.pekko.Done;
import org.apache.pekko.actor.CoordinatedShutdown;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.actor.typed.Behavior;
import org.apache.pekko.actor.typed.DispatcherSelector;
import org.apache.pekko.actor.typed.SupervisorStrategy;
import org.apache.pekko.actor.typed.javadsl.AskPattern;
import org.apache.pekko.actor.typed.javadsl.Behaviors;
import org.apache.pekko.serialization.jackson.JacksonObjectMapperProvider;

/** Starts what a node with the worker role runs: the CompilePool and one GpuWorker pinned to each device. */
public final class WorkerNode {
  private WorkerNode() {}

  /** The devices found and the GpuWorker serving each, in device order. */
  public record Started(List<Device> devices, List<ActorRef<GpuWorker.Command>> workers,
      ActorRef<CompilePool.Command> compilePool, HarnessLauncher launcher) {}

  public static Started init(ActorSystem<?> system, WorkerSettings settings,
      ActorRef<DispatcherProtocol.Command> dispatcher, WorkerMetrics metrics) {
    return init(system, settings, DeviceInventory.discover(settings.devices()), dispatcher, metrics);
  }

  /** With a given inventory: what tests use to pin workers to devices this host does not have. */
  public static Started init(ActorSystem<?> system, WorkerSettings configured, List<Device> devices,
      ActorRef<DispatcherProtocol.Command> dispatcher) {
    return init(system, configured, devices, dispatcher, WorkerMetrics.unscraped());
  }

  public static Started init(ActorSystem<?> system, WorkerSettings configured, List<Device> devices,
      ActorRef<DispatcherProtocol.Command> dispatcher, WorkerMetrics metrics) {
    WorkerSettings settings = configured.withDevices(devices.size());
    CorePlan cores = CorePlan.of(Runtime.getRuntime().availableProcessors(), devices, settings.timingCores());
    cores.pinThisProcess();
    HarnessLauncher launcher = HarnessLauncher.create(settings,
        JacksonObjectMapperProvider.get(system).getOrCreate("jackson-json", java.util.Optional.empty()), cores);
    String nodeId = system.address().toString();
    // On the blocking dispatcher: it starts processes and writes the sources and builds they read.
    ActorRef<CompilePool.Command> pool = system.systemActorOf(
        supervisedPool(CompilePool.create(launcher, devices.get(0), metrics)), "compile-pool",
        DispatcherSelector.fromConfig(WorkerSettings.BLOCKING_DISPATCHER));
    List<ActorRef<GpuWorker.Command>> workers = new ArrayList<>();
    for (Device device : devices) {
      workers.add(system.systemActorOf(
          supervised(GpuWorker.create(device, nodeId, settings, launcher, dispatcher, pool, metrics)),
          "gpu-worker-" + device.index(), org.apache.pekko.actor.typed.Props.empty()));
    }
    drainOnShutdown(system, workers, settings.drainTimeout());
    // Coordinators read a verdict's logs from here (the API's candidate logs): the files stay on this node.
    system.systemActorOf(VerdictLogReader.create(settings.workDir().resolve("runs").normalize()), "verdict-logs",
        DispatcherSelector.fromConfig(WorkerSettings.BLOCKING_DISPATCHER));
    system.log().atInfo().addKeyValue("devices", devices.size()).addKeyValue("compileSlots", settings.compileSlots())
        .addKeyValue("prefetch", settings.prefetch()).addKeyValue("timedCores", cores.timed())
        .log("worker node started");
    return new Started(devices, workers, pool, launcher);
  }

  /**
   * How a GpuWorker is restarted. A worker that fails again at once (a sick GPU, a harness that will not start)
   * would otherwise restart in a tight loop, starting and killing evaluation processes each time; backing off
   * turns that storm into a retry every half minute at worst, and a quiet period forgets earlier failures.
   */
  /**
   * A node that leaves (SIGTERM, {@code kfarm node drain}, any coordinated shutdown) drains its GpuWorkers while
   * the cluster is still up, so handed-back leases and the last verdicts reach the Dispatcher: in the phase where
   * services finish the requests in hand, before the node leaves the cluster. A worker already stopped, or too slow,
   * does not hold the node up: its PostStop hands back what it still has.
   */
  private static void drainOnShutdown(ActorSystem<?> system, List<ActorRef<GpuWorker.Command>> workers,
      Duration timeout) {
    CoordinatedShutdown shutdown = CoordinatedShutdown.get(system);
    shutdown.addTask(CoordinatedShutdown.PhaseServiceRequestsDone(), "drain-gpu-workers",
        () -> {
          // Downed (paused or cut off past the failure detector): the cluster has already given its leases to
          // others and will not hear from this node again, so a drain could only wait out its timeout while the
          // evaluation in progress holds a core. Stop at once; the GpuWorkers' PostStop kills their processes.
          if (shutdown.getShutdownReason().filter(CoordinatedShutdown.clusterDowningReason()::equals).isPresent()) {
            system.log().atWarn().log("node downed by the cluster: leaving without draining, its leases lapse");
            return CompletableFuture.completedFuture(Done.getInstance());
          }
          CompletableFuture<?>[] drained = workers.stream()
              .map(worker -> AskPattern.<GpuWorker.Command, Done>ask(worker, GpuWorker.Drain::new, timeout,
                      system.scheduler())
                  .exceptionally(notInTime -> Done.getInstance()).toCompletableFuture())
              .toArray(CompletableFuture[]::new);
          return CompletableFuture.allOf(drained).thenApply(all -> Done.getInstance());
        });
  }

  /**
   * How the CompilePool is restarted: as a GpuWorker, with backoff, since a pool that fails at start (no
   * interpreter, a full disk) fails again at once. Its askers are answered before it restarts; GpuWorkers watch it.
   */
  static Behavior<CompilePool.Command> supervisedPool(Behavior<CompilePool.Command> pool) {
    return Behaviors.supervise(pool).onFailure(
        SupervisorStrategy.restartWithBackoff(Duration.ofMillis(500), Duration.ofSeconds(30), 0.2)
            .withResetBackoffAfter(Duration.ofMinutes(5)));
  }

  static Behavior<GpuWorker.Command> supervised(Behavior<GpuWorker.Command> worker) {
    return Behaviors.supervise(worker).onFailure(
        SupervisorStrategy.restartWithBackoff(Duration.ofMillis(500), Duration.ofSeconds(30), 0.2)
            .withResetBackoffAfter(Duration.ofMinutes(5)));
  }
}

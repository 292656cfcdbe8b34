package kernelfarm.coordinator.campaign;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.ObjectMapper;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import kernelfarm.coordinator.llm.FakeLlmServer;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

/**
 * Faults of the cluster's shared parts, with every node a JVM of its own on loopback and the cpu backend: the node
 * that runs the Dispatcher singleton is SIGKILLed, a worker is paused (SIGSTOP) past the failure detector and
 * resumed, and the database goes away and comes back under a running coordinator. Each campaign ends complete, with
 * each LLM round asked once, one verdict per round and per candidate, and no harness process left.
 *
 * <p>The store is one the test owns (RestartableStore): an H2 database served over TCP by this JVM, so two
 * coordinator processes can share it and the test can restart it, and for the restart a private PostgreSQL too.
 */
@Tag("slow")
class ClusterProcessFaultsTest {
  private final ObjectMapper json = new ObjectMapper();

  /** Every round's answer is a distinct candidate (ScriptedModel numbers them): 2 problems x 2 branches x 3. */
  private static final int CANDIDATES = 12;

  @Test
  void killingTheNodeThatRunsTheDispatcherMovesItAndItsQueueToTheNextCoordinator() throws Exception {
    ScriptedModel model = new ScriptedModel();
    Path dir = Files.createTempDirectory("kfarm-singleton-killed");
    Path out = dir.resolve("results");
    Path firstLog = dir.resolve("coordinator-1.log");
    Path log = dir.resolve("coordinator-2.log");
    Path workerLog = dir.resolve("worker.log");
    Path work = dir.resolve("worker");
    int port = ProcessNodes.freePort();
    RestartableStore store = RestartableStore.h2(dir);
    Process first = null;
    Process worker = null;
    Process campaign = null;
    try (FakeLlmServer llm = FakeLlmServer.start(json).responder(model::answer)) {
      // The first coordinator forms the cluster, so it is the oldest and runs the Dispatcher.
      first = ProcessNodes.launchCoordinatorNode(llm, store.url(), port, firstLog, List.of());
      Process firstNode = first;
      ProcessNodes.await("the first coordinator up", Duration.ofMinutes(2),
          () -> read(firstLog).contains("kfarm node pekko://"), Map.of(first, firstLog));
      worker = ProcessNodes.launchWorker(port, work, workerLog);
      campaign = ProcessNodes.launchCampaign(llm, store.url(), out, log, "singleton-killed",
          List.of("--roles", "coordinator", "--join", "127.0.0.1:" + port), List.of());
      // A verdict came back, and the other branches' candidates wait in the Dispatcher's queue or leases.
      ProcessNodes.await("a verdict", Duration.ofMinutes(5), () -> ProcessNodes.roundRequests(llm, 2) >= 1,
          Map.of(first, firstLog, worker, workerLog, campaign, log));
      assertTrue(read(log).lines().noneMatch(l -> l.contains("dispatcher recovered its queue")), "not yet moved");
      ProcessNodes.quiesce(llm, worker);
      firstNode.destroyForcibly().waitFor(30, TimeUnit.SECONDS); // SIGKILL: the singleton dies with its node
      ProcessNodes.signal(worker, "CONT");

      assertTrue(campaign.waitFor(10, TimeUnit.MINUTES), "the campaign did not finish after the Dispatcher's node "
          + "died:\n" + read(log));
      ProcessNodes.assertCompleteOnce(campaign, log, llm, out, json);
      assertTrue(read(log).contains("dispatcher recovered its queue"),
          "the second coordinator took the singleton over with the queue it persisted:\n" + read(log));
      assertEquals(CANDIDATES, store.verdictsJournaled(), "one verdict per candidate in the Dispatcher's journal");
      stopAndCheckHarnesses(worker, work);
    } finally {
      ProcessNodes.killAll(first, worker, campaign);
      store.close();
    }
  }

  @Test
  void aWorkerPausedPastTheFailureDetectorIsDownedItsWorkIsDoneElsewhereAndOnResumeItExits() throws Exception {
    ScriptedModel model = new ScriptedModel();
    Path dir = Files.createTempDirectory("kfarm-worker-paused");
    Path out = dir.resolve("results");
    Path log = dir.resolve("coordinator.log");
    Path pausedLog = dir.resolve("worker-paused.log");
    Path otherLog = dir.resolve("worker-other.log");
    Path pausedWork = dir.resolve("worker-paused");
    Path otherWork = dir.resolve("worker-other");
    int port = ProcessNodes.freePort();
    int pausedPort = ProcessNodes.freePort();
    RestartableStore store = RestartableStore.h2(dir);
    Process coordinator = null;
    Process paused = null;
    Process other = null;
    try (FakeLlmServer llm = FakeLlmServer.start(json).responder(model::answer)) {
      // A short lease, so the paused worker's candidates go elsewhere soon after it is downed.
      coordinator = ProcessNodes.launchCampaign(llm, store.url(), out, log, "worker-paused",
          List.of("--roles", "coordinator", "--port", Integer.toString(port)), List.of("-Dkernelfarm.worker.lease=20s"));
      paused = ProcessNodes.launchWorker(port, pausedPort, pausedWork, pausedLog);
      ProcessNodes.await("a verdict", Duration.ofMinutes(5), () -> ProcessNodes.roundRequests(llm, 2) >= 1,
          Map.of(coordinator, log, paused, pausedLog));
      ProcessNodes.signal(paused, "STOP"); // holds its leases, answers no heartbeat
      other = ProcessNodes.launchWorker(port, otherWork, otherLog);
      String pausedAddress = "127.0.0.1:" + pausedPort;
      ProcessNodes.await("the paused worker downed", Duration.ofMinutes(2), () -> read(log).lines().anyMatch(l ->
              l.contains(pausedAddress) && l.toLowerCase(Locale.ROOT).contains("downing")),
          Map.of(coordinator, log, other, otherLog));
      ProcessNodes.signal(paused, "CONT");
      // It learns it was downed and leaves: it can never rejoin as the same node, so it exits for a fresh one.
      assertTrue(paused.waitFor(2, TimeUnit.MINUTES), "the resumed worker did not exit:\n" + read(pausedLog));
      assertNotEquals(0, paused.exitValue(), "a downed node exits non-zero, so its supervisor starts a new one");
      assertEquals(List.of(), ProcessNodes.processesUsing(pausedWork), "harness processes of the downed worker");

      assertTrue(coordinator.waitFor(10, TimeUnit.MINUTES), "the campaign did not finish after the pause:\n"
          + read(log));
      ProcessNodes.assertCompleteOnce(coordinator, log, llm, out, json);
      assertEquals(CANDIDATES, store.verdictsJournaled(), "one verdict per candidate in the Dispatcher's journal");
      stopAndCheckHarnesses(other, otherWork);
    } finally {
      ProcessNodes.killAll(coordinator, paused, other);
      store.close();
    }
  }

  @Test
  void theCampaignCompletesOnceTheDatabaseIsBackAfterARestartUnderTheCoordinator() throws Exception {
    Path dir = Files.createTempDirectory("kfarm-store-restart");
    try (RestartableStore store = RestartableStore.h2(dir)) {
      campaignSurvivesARestartOf(store, dir);
    }
  }

  /** The same on PostgreSQL, the store of a real cluster: its driver and pool meet a server that went away. */
  @Test
  void theCampaignCompletesOnceAPostgresRestartedUnderTheCoordinatorIsBack() throws Exception {
    Path dir = Files.createTempDirectory("kfarm-postgres-restart");
    Optional<RestartableStore> postgres = RestartableStore.postgres(dir);
    Assumptions.assumeTrue(postgres.isPresent(), "skipped: no PostgreSQL server binaries (initdb, pg_ctl) under "
        + "/usr/lib/postgresql; install the postgresql package (deploy/local/postgres.sh does) to run it");
    try (RestartableStore store = postgres.get()) {
      campaignSurvivesARestartOf(store, dir);
    }
  }

  private void campaignSurvivesARestartOf(RestartableStore store, Path dir) throws Exception {
    ScriptedModel model = new ScriptedModel();
    Path out = dir.resolve("results");
    Path log = dir.resolve("coordinator.log");
    Path workerLog = dir.resolve("worker.log");
    Path work = dir.resolve("worker");
    int port = ProcessNodes.freePort();
    Process coordinator = null;
    Process worker = null;
    try (FakeLlmServer llm = FakeLlmServer.start(json).responder(model::answer)) {
      coordinator = ProcessNodes.launchCampaign(llm, store.url(), out, log, "store-restarted",
          List.of("--roles", "coordinator", "--port", Integer.toString(port)), List.of());
      worker = ProcessNodes.launchWorker(port, work, workerLog);
      ProcessNodes.await("a verdict", Duration.ofMinutes(5), () -> ProcessNodes.roundRequests(llm, 2) >= 1,
          Map.of(coordinator, log, worker, workerLog));
      ProcessNodes.quiesce(llm, worker);
      int asked = llm.requests().size();
      store.stop(); // every connection dropped, new ones refused
      ProcessNodes.signal(worker, "CONT"); // its verdicts now meet a Dispatcher that cannot persist them
      // Down long enough for verdicts to need the store: the worker keeps evaluating meanwhile.
      Thread.sleep(Duration.ofSeconds(20).toMillis());
      store.start();

      assertTrue(coordinator.waitFor(10, TimeUnit.MINUTES), "the campaign did not finish after the database came "
          + "back:\n" + read(log));
      assertTrue(llm.requests().size() > asked, "the campaign went on after the restart");
      ProcessNodes.assertCompleteOnce(coordinator, log, llm, out, json);
      assertEquals(CANDIDATES, store.verdictsJournaled(), "one verdict per candidate in the Dispatcher's journal");
      stopAndCheckHarnesses(worker, work);
    } finally {
      ProcessNodes.killAll(coordinator, worker);
    }
  }

  /** SIGTERM, as an operator stops a node; then none of its harness processes may be left. */
  private static void stopAndCheckHarnesses(Process worker, Path work) throws Exception {
    worker.destroy();
    assertTrue(worker.waitFor(2, TimeUnit.MINUTES), "the worker did not stop on SIGTERM");
    Thread.sleep(2000);
    assertEquals(List.of(), ProcessNodes.processesUsing(work), "harness processes outlived their worker");
  }

  private static String read(Path log) {
    try {
      return Files.exists(log) ? Files.readString(log) : "";
    } catch (java.io.IOException e) {
      throw new java.io.UncheckedIOException(e);
    }
  }
}

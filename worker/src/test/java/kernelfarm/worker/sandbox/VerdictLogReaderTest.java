package kernelfarm.worker.sandbox;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Set;
import kernelfarm.protocol.Redaction;
import kernelfarm.protocol.VerdictLogsProtocol;
import kernelfarm.protocol.VerdictLogsProtocol.LogChunk;
import kernelfarm.protocol.VerdictLogsProtocol.LogUnavailable;
import kernelfarm.protocol.VerdictLogsProtocol.ReadLog;
import kernelfarm.protocol.VerdictLogsProtocol.Reply;
import org.apache.pekko.actor.testkit.typed.javadsl.ActorTestKit;
import org.apache.pekko.actor.testkit.typed.javadsl.TestProbe;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.receptionist.Receptionist;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.io.TempDir;

/** A coordinator reads a verdict's logs from the node that made them, and nothing else on that node. */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class VerdictLogReaderTest {
  private final ActorTestKit testKit = ActorTestKit.create();

  @TempDir
  Path work;

  @AfterAll
  void stop() {
    testKit.shutdownTestKit();
  }

  private Reply read(Path runs, String path, long offset, int maxBytes) {
    TestProbe<Reply> probe = testKit.createTestProbe();
    return VerdictLogReader.read(runs, new ReadLog(path, offset, maxBytes, probe.ref()));
  }

  @Test
  void aLogComesBackWholeInChunksThatNeverSplitACharacterAndWithoutSecrets() throws Exception {
    Path runs = work.resolve("runs");
    Path run = Files.createDirectories(runs.resolve("20261207-evaluate-1a2b3c4d"));
    String secret = "kfarm-log-reader-secret-" + System.nanoTime();
    Redaction.register(secret);
    String original = "compile: ok\nprinted by the candidate: héllo wörld ✓ " + secret + "\n".repeat(3)
        + "€".repeat(50);
    Path log = Files.writeString(run.resolve("harness.log"), original, StandardCharsets.UTF_8);
    StringBuilder text = new StringBuilder();
    long offset = 0;
    int chunks = 0;
    while (true) {
      // 7 bytes: every third-or-so chunk would cut a 2- or 3-byte character if it were cut by bytes.
      LogChunk chunk = assertInstanceOf(LogChunk.class, read(runs, log.toString(), offset, 7));
      assertEquals(Files.size(log), chunk.size());
      assertTrue(chunk.nextOffset() > offset || chunk.nextOffset() == chunk.size(), "progress at " + offset);
      text.append(chunk.text());
      offset = chunk.nextOffset();
      chunks++;
      if (offset == chunk.size()) {
        break;
      }
    }
    assertTrue(chunks > 20, "read in " + chunks + " chunks");
    // Cut across 7-byte chunks, the secret cannot be masked per chunk: logs are scrubbed when written (CappedLog,
    // Verdicts.keptLog) and the coordinator scrubs the whole text again. Here: every character arrives.
    assertEquals(original, text.toString());
    assertFalse(text.toString().contains("\uFFFD"), "a character was cut: " + text);
    LogChunk whole = assertInstanceOf(LogChunk.class,
        read(runs, log.toString(), 0, VerdictLogsProtocol.MAX_CHUNK_BYTES));
    assertFalse(whole.text().contains(secret), "the secret reached the reader's answer: " + whole.text());
    assertTrue(whole.text().contains("héllo wörld ✓ " + Redaction.MASK), whole.text());
  }

  @Test
  void nothingButTheWorkersOwnLogsIsServed() throws Exception {
    Path runs = work.resolve("runs");
    Path run = Files.createDirectories(runs.resolve("20261207-compile-5e6f7a8b"));
    Path scratch = Files.createDirectories(run.resolve("scratch"));
    Files.writeString(run.resolve("harness.log"), "the worker's own\n");
    Files.writeString(scratch.resolve("candidate.log"), "written by the candidate\n");
    Path secrets = Files.writeString(work.resolve("api-token"), "top secret\n");
    Files.createSymbolicLink(run.resolve("linked.log"), secrets);
    Files.createSymbolicLink(runs.resolve("20261207-linked-run"), work);
    Files.createDirectories(run.resolve("folder.log"));
    for (String path : new String[] {
        scratch.resolve("candidate.log").toString(), // the candidate's scratch: its to write, never ours to serve
        secrets.toString(), // outside the runs
        run.resolve("linked.log").toString(), // a link out of the run folder
        runs.resolve("20261207-linked-run").resolve("api-token").toString(), // a linked run folder
        run + "/../../api-token", // climbing out
        "runs/20261207-compile-5e6f7a8b/harness.log", // relative
        "/etc/passwd",
        run.resolve("folder.log").toString(),
    }) {
      LogUnavailable refused = assertInstanceOf(LogUnavailable.class, read(runs, path, 0, 1024), path);
      assertTrue(refused.reason().startsWith("not a log of this node's runs"), path + ": " + refused.reason());
    }
    assertInstanceOf(LogChunk.class, read(runs, run.resolve("harness.log").toString(), 0, 1024));
  }

  @Test
  void aLogWhoseRunFolderWasSweptSaysSo() throws Exception {
    Path runs = Files.createDirectories(work.resolve("runs"));
    Path run = Files.createDirectories(runs.resolve("20261207-evaluate-00000000"));
    LogUnavailable missing = assertInstanceOf(LogUnavailable.class,
        read(runs, run.resolve("nothing.log").toString(), 0, 1024));
    assertEquals("no such log in its run folder", missing.reason());
    LogUnavailable swept = assertInstanceOf(LogUnavailable.class,
        read(runs, runs.resolve("20261201-evaluate-deadbeef").resolve("harness.log").toString(), 0, 1024));
    assertTrue(swept.reason().contains("run-retention"), swept.reason());
  }

  @Test
  void theReaderRegistersWithTheReceptionistAndAnswers() throws Exception {
    Path runs = work.resolve("runs");
    Path run = Files.createDirectories(runs.resolve("20261207-evaluate-feedface"));
    Path log = Files.writeString(run.resolve("harness.log"), "timing: 100 trials\n");
    testKit.spawn(VerdictLogReader.create(runs));
    TestProbe<Receptionist.Listing> listing = testKit.createTestProbe();
    ActorRef<VerdictLogsProtocol.Command> reader = null;
    for (int i = 0; i < 50 && reader == null; i++) {
      testKit.system().receptionist().tell(Receptionist.find(VerdictLogsProtocol.SERVICE_KEY, listing.ref()));
      Set<ActorRef<VerdictLogsProtocol.Command>> found =
          listing.receiveMessage().getServiceInstances(VerdictLogsProtocol.SERVICE_KEY);
      reader = found.isEmpty() ? null : found.iterator().next();
      if (reader == null) {
        Thread.sleep(100);
      }
    }
    assertTrue(reader != null, "no reader registered");
    TestProbe<Reply> reply = testKit.createTestProbe();
    reader.tell(new ReadLog(log.toString(), 0, 1024, reply.ref()));
    LogChunk chunk = assertInstanceOf(LogChunk.class, reply.receiveMessage(Duration.ofSeconds(5)));
    assertEquals("timing: 100 trials\n", chunk.text());
  }
}

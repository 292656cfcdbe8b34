package kernelfarm.coordinator.service;

import java.time.Duration;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import kernelfarm.coordinator.service.ServiceException.Kind;
import kernelfarm.protocol.Redaction;
import kernelfarm.protocol.VerdictLogsProtocol;
import kernelfarm.protocol.VerdictLogsProtocol.LogChunk;
import kernelfarm.protocol.VerdictLogsProtocol.LogUnavailable;
import kernelfarm.protocol.VerdictLogsProtocol.ReadLog;
import org.apache.pekko.actor.Address;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.actor.typed.javadsl.AskPattern;
import org.apache.pekko.actor.typed.receptionist.Receptionist;

/**
 * Fetches a verdict's log from the worker node that made it, through that node's log reader (found with the
 * receptionist by the verdict's {@code device.nodeId}, which is the node's address), a chunk per message so no
 * message nears Artery's frame size.
 */
final class VerdictLogs {
  /**
   * What one answer carries at most. The worker caps a candidate's logs at 1 MiB each and a process's own log at
   * kernelfarm.worker.log-bytes; this bounds the coordinator's memory per request whatever a worker holds.
   */
  static final long MAX_BYTES = 8L * 1024 * 1024;

  private final ActorSystem<?> system;
  private final Duration timeout;

  VerdictLogs(ActorSystem<?> system, Duration timeout) {
    this.system = system;
    this.timeout = timeout;
  }

  /** The whole log (up to {@link #MAX_BYTES}), secrets removed; fails with a ServiceException naming what is wrong. */
  CompletionStage<String> read(String nodeId, String path) {
    return AskPattern.<Receptionist.Command, Receptionist.Listing>ask(system.receptionist(),
            replyTo -> Receptionist.find(VerdictLogsProtocol.SERVICE_KEY, replyTo), timeout, system.scheduler())
        .thenCompose(listing -> {
          Optional<ActorRef<VerdictLogsProtocol.Command>> reader =
              listing.getServiceInstances(VerdictLogsProtocol.SERVICE_KEY).stream()
                  .filter(ref -> nodeOf(ref).toString().equals(nodeId)).findFirst();
          if (reader.isEmpty()) {
            throw ServiceException.of(Kind.NOT_FOUND, "node", "the worker node " + nodeId
                    + " that judged this candidate is not in the cluster now, and its logs stay on that node",
                "start a worker at that address with the same kernelfarm.worker.work-dir (logs are kept for "
                    + "kernelfarm.worker.sandbox.run-retention), or read the file on that host");
          }
          return readFrom(reader.get(), path, 0, new StringBuilder());
        })
        .thenApply(Redaction::scrub);
  }

  private CompletionStage<String> readFrom(ActorRef<VerdictLogsProtocol.Command> reader, String path, long offset,
      StringBuilder text) {
    return AskPattern.<VerdictLogsProtocol.Command, VerdictLogsProtocol.Reply>ask(reader,
            replyTo -> new ReadLog(path, offset, VerdictLogsProtocol.MAX_CHUNK_BYTES, replyTo), timeout,
            system.scheduler())
        .exceptionally(failure -> {
          throw ServiceException.of(Kind.UNAVAILABLE, "node", "the worker node holding the log did not answer in "
              + timeout.toSeconds() + "s", "retry in a few seconds; a worker busy starting processes answers late");
        })
        .thenCompose(reply -> {
          if (reply instanceof LogUnavailable unavailable) {
            throw ServiceException.of(Kind.NOT_FOUND, "log", "the worker cannot serve " + path + ": "
                + unavailable.reason(), "logs are kept for kernelfarm.worker.sandbox.run-retention after their run");
          }
          LogChunk chunk = (LogChunk) reply;
          text.append(chunk.text());
          if (chunk.nextOffset() >= chunk.size() || chunk.nextOffset() == offset) {
            return CompletableFuture.completedFuture(text.toString());
          }
          if (chunk.nextOffset() >= MAX_BYTES) {
            return CompletableFuture.completedFuture(text + "\n[kfarm: log cut at " + MAX_BYTES / (1024 * 1024)
                + " MiB of " + chunk.size() + " bytes]\n");
          }
          return readFrom(reader, path, chunk.nextOffset(), text);
        });
  }

  /** The node an actor lives on; a local actor's path has no host, and it lives on this node. */
  private Address nodeOf(ActorRef<?> ref) {
    Address address = ref.path().address();
    return address.hasGlobalScope() ? address : system.address();
  }
}

package kernelfarm.protocol;

import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.receptionist.ServiceKey;

/**
 * How a coordinator reads a verdict's logs from the worker node that made them. A verdict carries only the logs'
 * paths on that node ({@link Verdict#logs()}), which keeps it under Artery's frame size; the files stay where the
 * candidate ran until the run folder expires. Every worker node registers one reader under {@link #SERVICE_KEY};
 * the coordinator picks the one on the verdict's node ({@link DeviceRef#nodeId()}) and reads a log in chunks.
 */
public final class VerdictLogsProtocol {
  /** The readers, one per worker node; each is told apart by its actor's address. */
  public static final ServiceKey<Command> SERVICE_KEY = ServiceKey.create(Command.class, "kfarm-verdict-logs");

  /** Bytes per chunk: far under Artery's default 256 KiB frame, with room for the envelope. */
  public static final int MAX_CHUNK_BYTES = 128 * 1024;

  private VerdictLogsProtocol() {}

  /** What a node's log reader accepts. */
  public sealed interface Command extends KryoMessage permits ReadLog {}

  /** What it answers. */
  public sealed interface Reply extends KryoMessage permits LogChunk, LogUnavailable {}

  /**
   * Up to {@code maxBytes} of the log at {@code path}, from byte {@code offset}. The reader serves only files in
   * its node's run folders: any other path is refused, whatever the caller says.
   */
  public record ReadLog(String path, long offset, int maxBytes, ActorRef<Reply> replyTo) implements Command {
    public ReadLog {
      Require.nonBlank(path, "path");
      Require.atLeast(offset, 0, "offset");
      if (maxBytes < 1 || maxBytes > MAX_CHUNK_BYTES) {
        throw new IllegalArgumentException("maxBytes must be 1.." + MAX_CHUNK_BYTES + ", got " + maxBytes);
      }
      Require.nonNull(replyTo, "replyTo");
    }
  }

  /**
   * A piece of the log, secrets removed. {@code nextOffset} is where the next chunk starts (a chunk ends on a
   * whole UTF-8 character); the log is read to its end when it equals {@code size}.
   */
  public record LogChunk(String path, long offset, long nextOffset, long size, String text) implements Reply {
    public LogChunk {
      Require.nonBlank(path, "path");
      Require.atLeast(offset, 0, "offset");
      Require.atLeast(nextOffset, offset, "nextOffset");
      Require.atLeast(size, 0, "size");
      Require.nonNull(text, "text");
    }
  }

  /** The log cannot be read here, and why: outside the run folders, removed with its run folder, unreadable. */
  public record LogUnavailable(String path, String reason) implements Reply {
    public LogUnavailable {
      Require.nonBlank(path, "path");
      Require.nonBlank(reason, "reason");
    }
  }
}

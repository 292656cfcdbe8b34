package kernelfarm.coordinator.campaign;

import com.typesafe.config.Config;
import java.time.Clock;
import java.time.Duration;
import java.util.Map;
import java.util.Optional;
import kernelfarm.coordinator.llm.LlmClient;
import kernelfarm.coordinator.prompt.PromptTemplates;
import kernelfarm.protocol.DispatcherProtocol;
import org.apache.pekko.actor.typed.ActorRef;

/**
 * What the search entities of one coordinator node share: its LLM clients by endpoint name (keys stay on this
 * node), the prompt templates, the Dispatcher (a cluster singleton proxy), a clock, the settings and the metrics.
 */
public record SearchServices(
    Map<String, LlmClient> llms,
    PromptTemplates templates,
    ActorRef<DispatcherProtocol.Command> dispatcher,
    Clock clock,
    Settings settings,
    SearchMetrics metrics) {

  public SearchServices {
    llms = Map.copyOf(llms);
  }

  public Optional<LlmClient> llm(String endpoint) {
    return Optional.ofNullable(llms.get(endpoint));
  }

  /**
   * The {@code kernelfarm.coordinator.search} block.
   *
   * @param historyFullRounds rounds of a branch sent whole to its model; older ones go as one-line digests
   * @param historyMaxChars the most characters of a branch's prompt
   * @param resubmitEvery how often open candidates are offered to the Dispatcher again
   * @param startRetry how often a campaign re-sends Start to problems that have not finished
   * @param snapshotEvery a problem's state is snapshotted every this many events
   */
  public record Settings(int historyFullRounds, int historyMaxChars, Duration resubmitEvery, Duration startRetry,
      int snapshotEvery) {
    public static Settings from(Config config) {
      Config c = config.getConfig("kernelfarm.coordinator.search");
      Settings s = new Settings(c.getInt("history-full-rounds"), c.getInt("history-max-chars"),
          c.getDuration("resubmit-every"), c.getDuration("start-retry"), c.getInt("snapshot-every"));
      if (s.snapshotEvery < 1) {
        throw new IllegalArgumentException("kernelfarm.coordinator.search.snapshot-every: must be at least 1, got "
            + s.snapshotEvery + "; write e.g. 200");
      }
      return s;
    }
  }
}

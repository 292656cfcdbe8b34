package kernelfarm.coordinator.cli;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import kernelfarm.coordinator.campaign.CampaignSpec;
import picocli.CommandLine.Option;

/**
 * What a campaign searches: its name, problems chosen, branches, rounds, budget, stop rule, top-k restarts and
 * sampling. The same flags run a campaign on a local node ({@code kfarm campaign}) or submit one to a remote
 * coordinator ({@code kfarm campaign submit}).
 */
final class SearchOptions {
  @Option(names = "--only", split = ",", description = "problem names or ids to run (default: all)")
  List<String> only = new ArrayList<>();

  @Option(names = "--name", defaultValue = "campaign", description = "a label for logs and results")
  String name;

  @Option(names = "--branches", defaultValue = "4", description = "branches per problem (default: ${DEFAULT-VALUE})")
  int branches;

  @Option(names = "--rounds", defaultValue = "5", description = "rounds per branch (default: ${DEFAULT-VALUE})")
  int rounds;

  @Option(names = "--budget", defaultValue = "PT15M",
      description = "time budget per problem, ISO-8601 (default: ${DEFAULT-VALUE})")
  Duration budget;

  @Option(names = "--stop", defaultValue = "SPEND_BUDGET",
      description = "FIRST_CORRECT, TARGET_SPEEDUP or SPEND_BUDGET (default: ${DEFAULT-VALUE})")
  CampaignSpec.StopRule stop;

  @Option(names = "--target-speedup", description = "with --stop TARGET_SPEEDUP")
  Double targetSpeedup;

  @Option(names = "--top-k", defaultValue = "0", description = "restart weak branches from the k best (0: off)")
  int topK;

  @Option(names = "--restart-every", defaultValue = "2", description = "rounds between top-k restarts")
  int restartEvery;

  @Option(names = "--temperature", defaultValue = "0.6")
  double temperature;

  @Option(names = "--max-tokens", defaultValue = "16384", description = "per answer, reasoning included")
  int maxTokens;

  CampaignSpec.Search search() {
    return new CampaignSpec.Search(branches, rounds, budget, stop, targetSpeedup, topK, topK > 0 ? restartEvery : 0);
  }

  CampaignSpec.Sampling sampling() {
    return new CampaignSpec.Sampling(temperature, maxTokens, null);
  }
}

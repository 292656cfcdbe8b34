package kernelfarm.coordinator.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.Test;
import picocli.CommandLine;

/**
 * The shared flag groups reach every command that takes them: the verification flags (nested in the local farm's
 * options) on kfarm campaign and verify and on campaign submit, the search flags on campaign and submit alike.
 */
class CommandOptionsTest {
  private static final String[] FLAGS = {"--trials", "3", "--timing-trials", "7", "--atol", "0.05",
      "--kernelbench-rules", "main", "--branches", "2", "--rounds", "9", "--budget", "PT5M", "--only", "a,b"};

  @Test
  void aLocalCampaignTakesTheVerificationAndSearchFlags() {
    CampaignCommand campaign = new CampaignCommand();
    new CommandLine(campaign).parseArgs(with("--problems", "p"));
    assertEquals(3, campaign.farm.verifySettings().correctnessTrials());
    assertEquals(7, campaign.farm.verifySettings().timingTrials());
    assertEquals(0.05, campaign.farm.verifySettings().atol());
    assertEquals("main", campaign.farm.verifySettings().kernelbenchRules());
    assertEquals(2, campaign.search.search().branches());
    assertEquals(9, campaign.search.search().rounds());
    assertEquals(Duration.ofMinutes(5), campaign.search.search().timeBudget());
    assertEquals(List.of("a", "b"), campaign.search.only);
  }

  @Test
  void aSubmittedCampaignTakesTheSameFlags() {
    CampaignRemoteCommands.SubmitCommand submit = new CampaignRemoteCommands.SubmitCommand();
    new CommandLine(submit).parseArgs(with("--problems", "p"));
    assertEquals(3, submit.verify.settings().correctnessTrials());
    assertEquals(7, submit.verify.settings().timingTrials());
    assertEquals("main", submit.verify.settings().kernelbenchRules());
    assertEquals(2, submit.search.search().branches());
    assertEquals(Duration.ofMinutes(5), submit.search.search().timeBudget());
  }

  @Test
  void verifyTakesTheVerificationFlags() {
    VerifyCommand verify = new VerifyCommand();
    new CommandLine(verify).parseArgs("--trials", "4", "--seed", "7", "--problem", "p.py", "--candidate", "c.py");
    assertEquals(4, verify.farm.verifySettings().correctnessTrials());
    assertEquals(7, verify.farm.verifySettings().seed());
  }

  private static String[] with(String... more) {
    String[] all = new String[FLAGS.length + more.length];
    System.arraycopy(FLAGS, 0, all, 0, FLAGS.length);
    System.arraycopy(more, 0, all, FLAGS.length, more.length);
    return all;
  }
}

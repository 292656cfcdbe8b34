package kernelfarm.coordinator.campaign;

import com.fasterxml.jackson.databind.JsonNode;
import java.time.Duration;
import java.util.concurrent.atomic.AtomicInteger;
import kernelfarm.coordinator.llm.FakeLlmServer;

/**
 * The fake LLM's answers for the example problems: plain-PyTorch candidates (fast to verify on CPU), round 1 of
 * GELU wrong and every other round correct. Each answer's code names its round and a serial number, so a test
 * can tell an answer recovered from the journal from one asked again, and no two answers are the same candidate.
 */
final class ScriptedModel {
  private final AtomicInteger serial = new AtomicInteger();
  /** Holds round-3 answers back, so a test can stop a node while they are in flight. */
  volatile boolean slowThirdRounds;
  /**
   * For the top-k test: the second round-1 answer for SumSquares does the work twice (a sure loser) and comes
   * late, so it is judged after the first and ranks below it.
   */
  volatile boolean oneWeakFirstRound;
  private final AtomicInteger sumSquaresFirstRounds = new AtomicInteger();

  FakeLlmServer.Reply answer(JsonNode request) {
    String first = "";
    int assistants = 0;
    for (JsonNode m : request.path("messages")) {
      if (m.path("role").asText().equals("user") && first.isEmpty()) {
        first = m.path("content").asText();
      }
      if (m.path("role").asText().equals("assistant")) {
        assistants++;
      }
    }
    int round = assistants + 1;
    String init = "    def __init__(self):\n        super().__init__()\n\n";
    String body;
    if (first.contains("torch.tanh(inner)")) {
      body = round == 1 ? "return 0.5 * x" : "return torch.nn.functional.gelu(x, approximate=\"tanh\")";
    } else if (first.contains("self.linear(x)")) {
      init = "    def __init__(self, in_features, out_features):\n        super().__init__()\n"
          + "        self.linear = nn.Linear(in_features, out_features)\n"
          + "        self.scale = nn.Parameter(torch.rand(out_features) + 0.5)\n\n";
      body = "return torch.addmm(self.linear.bias, x, self.linear.weight.t()).clamp_min_(0.0).mul_(self.scale)";
    } else {
      body = round == 1 ? "return (x * x).sum(dim=-1, keepdim=True)" : "return torch.square(x).sum(-1, keepdim=True)";
    }
    boolean weak = oneWeakFirstRound && round == 1 && !first.contains("torch.tanh(inner)")
        && sumSquaresFirstRounds.incrementAndGet() == 2;
    if (weak) {
      body = "y = (x * x).sum(dim=-1, keepdim=True)\n        for _ in range(8):\n"
          + "            y = (x * x).sum(dim=-1, keepdim=True)\n        return y";
    }
    String code = "import torch\nimport torch.nn as nn\n\n# answer " + serial.incrementAndGet() + ", round " + round
        + "\nclass ModelNew(nn.Module):\n" + init + "    def forward(self, x):\n        " + body + "\n";
    FakeLlmServer.Answer answer = FakeLlmServer.answer("Here it is.\n\n```python\n" + code + "```\n")
        .withReasoning("thinking about round " + round);
    if (weak) {
      return FakeLlmServer.after(Duration.ofSeconds(3), answer);
    }
    return slowThirdRounds && round == 3 ? FakeLlmServer.after(Duration.ofSeconds(20), answer) : answer;
  }
}

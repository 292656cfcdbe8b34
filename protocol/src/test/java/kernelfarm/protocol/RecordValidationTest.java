package kernelfarm.protocol;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.Test;

class RecordValidationTest {
  @Test
  void verifySettingsNamesTheBadValue() {
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
        () -> new VerifySettings(0, 1e-2, 1e-2, 10, 100, true, false, 42));
    assertEquals("correctnessTrials must be >= 1, got 0", e.getMessage());
    e = assertThrows(IllegalArgumentException.class,
        () -> new VerifySettings(5, Double.NaN, 1e-2, 10, 100, true, false, 42));
    assertEquals("atol must be >= 0, got NaN", e.getMessage());
  }

  @Test
  void backendParsesWireNamesAndListsThemWhenRefusing() {
    assertEquals(Backend.TRITON, Backend.parse(" Triton "));
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> Backend.parse("rocm"));
    assertEquals("backend must be one of cuda, triton, cpu, got \"rocm\"", e.getMessage());
  }

  @Test
  void submitCandidateRefusesACandidateOfAnotherProblem() {
    Problem problem = new Problem("level1/19_ReLU", 1, "19_ReLU", "import torch\n");
    Candidate other = Candidate.of("level1/20_LeakyReLU", Backend.CUDA, "import torch\n");
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
        () -> new DispatcherProtocol.SubmitCandidate(other, problem, VerifySettings.defaults(), null, null));
    assertEquals("candidate.problemId must equal problem.id (level1/19_ReLU), got level1/20_LeakyReLU",
        e.getMessage());
  }

  @Test
  void workOfferRefusesAnEmptyLease() {
    Problem problem = new Problem("level1/19_ReLU", 1, "19_ReLU", "import torch\n");
    Candidate candidate = Candidate.of(problem.id(), Backend.CUDA, "import torch\n");
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
        () -> new DispatcherProtocol.WorkOffer("l-1", candidate, problem, VerifySettings.defaults(), Duration.ZERO));
    assertEquals("lease must be positive, got PT0S", e.getMessage());
  }

  @Test
  void correctnessRefusesMorePassedThanRun() {
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
        () -> new Correctness(2, 3, 0.0, 0.0, 0.01, 0.01, null, null));
    assertEquals("passed must be <= trials (2), got 3", e.getMessage());
  }

  @Test
  void recordsCopyTheirCollections() {
    List<String> leases = new ArrayList<>(List.of("l-1"));
    DispatcherProtocol.ReleaseLease renew = new DispatcherProtocol.ReleaseLease("gpu-0", leases);
    leases.add("l-2");
    assertEquals(List.of("l-1"), renew.leaseIds());
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
        () -> new DeviceCapabilities("cpu", Set.of(), 0, null));
    assertEquals("backends must not be empty", e.getMessage());
  }
}

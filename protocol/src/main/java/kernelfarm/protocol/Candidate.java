package kernelfarm.protocol;

import com.fasterxml.jackson.annotation.JsonIgnoreProperties;

/**
 * One ModelNew source proposed for a problem. A Branch builds it from its LLM's answer and submits it to the
 * Dispatcher; the worker that leases it compiles, checks and times it.
 *
 * @param id {@link CandidateId#of(String, String)} of the problem id and source
 * @param problemId the {@link Problem#id()} this candidate replaces
 * @param backend how its kernels are written
 * @param source the ModelNew Python source, as extracted from the LLM's answer
 */
@JsonIgnoreProperties(ignoreUnknown = true)
public record Candidate(CandidateId id, String problemId, Backend backend, String source)
    implements CborSerializable {
  public Candidate {
    Require.nonNull(id, "id");
    Require.nonBlank(problemId, "problemId");
    Require.nonNull(backend, "backend");
    Require.nonBlank(source, "source");
  }

  /** A candidate whose id is the content hash of its problem and source. */
  public static Candidate of(String problemId, Backend backend, String source) {
    return new Candidate(CandidateId.of(problemId, source), problemId, backend, source);
  }
}

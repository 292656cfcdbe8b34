package kernelfarm.coordinator.view;

/** A campaign's state as the read side shows it. */
public enum CampaignState {
  /** problems are searching */
  RUNNING,
  /** cancelled; some problems have not stopped yet */
  CANCELLING,
  /** cancelled, and every problem has stopped */
  CANCELLED,
  /** every problem finished */
  FINISHED
}

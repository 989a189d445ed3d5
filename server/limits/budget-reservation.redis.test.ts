import { runBudgetReservationContract } from "./budget-reservation.contract.js";
import { redisStateHarnesses } from "./redis-key-space.testing.js";

runBudgetReservationContract("redis", redisStateHarnesses("limits"));

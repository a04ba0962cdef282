/**
 * Splits a batch into lanes by record key (the customer id), keeping each lane in batch order.
 * Lanes may run side by side; records inside a lane run one after another, so one customer's
 * messages go out in the order they were requested.
 */
export function lanesByKey<T extends { key: string | null }>(records: readonly T[]): T[][] {
  const lanes = new Map<string | null, T[]>();
  for (const record of records) {
    const lane = lanes.get(record.key);
    if (lane === undefined) lanes.set(record.key, [record]);
    else lane.push(record);
  }
  return [...lanes.values()];
}

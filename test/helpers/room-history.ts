/** A room's history opened for a test: nobody told of its changes unless the test says so. */
import { RoomHistory, type RoomHistoryInit } from '../../src/core/room-history.ts'

export async function openRoomHistory(
  init: Omit<RoomHistoryInit, 'onChange' | 'onLocal'> & Partial<RoomHistoryInit>,
): Promise<RoomHistory> {
  const h = new RoomHistory({ onChange: () => undefined, onLocal: () => undefined, ...init })
  await h.open()
  return h
}

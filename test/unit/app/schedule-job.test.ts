import { describe, expect, it } from 'vitest';
import { SCHEDULE_RUN_FLAG, scheduleJobArgs, scheduleJobCommand } from '../../../main/app/schedule-job.js';

describe("the OS scheduler's job for schedules set in the app", () => {
  it('runs the app itself in its CLI mode, never as node (the RunAsNode fuse is off)', () => {
    const command = scheduleJobCommand({
      execPath: '/opt/Moor/moor',
      storagePath: '/home/u/.docker/machine',
    });
    expect(command).toEqual(['/opt/Moor/moor', SCHEDULE_RUN_FLAG, '-s', '/home/u/.docker/machine']);
    // An AppImage's execPath is a fresh mount each run: the job names the image file.
    expect(
      scheduleJobCommand({
        execPath: '/tmp/.mount_x/moor',
        appImage: '/home/u/Moor.AppImage',
        storagePath: '/s',
      })[0],
    ).toBe('/home/u/Moor.AppImage');
  });

  it("turns the job's argv into the CLI's `-s STORE schedule run`, and leaves a normal start alone", () => {
    const argv = [
      '/opt/Moor/moor',
      ...scheduleJobCommand({ execPath: '/opt/Moor/moor', storagePath: '/s' }).slice(1),
    ];
    expect(scheduleJobArgs(argv)).toEqual(['-s', '/s', 'schedule', 'run']);
    expect(scheduleJobArgs(['/opt/Moor/moor'])).toBeNull();
    expect(scheduleJobArgs(['/opt/Moor/moor', '--no-sandbox'])).toBeNull();
  });
});

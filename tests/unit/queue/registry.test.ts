import { describe, expect, it } from 'vitest';
import { DuplicateJobNameError, InvalidOptionError, JobNotRegisteredError } from '../../../core/errors.js';
import { MAX_TRIES } from '../../../core/queue/dispatch_options.js';
import { Job } from '../../../core/queue/job.js';
import { JobRegistry } from '../../../core/queue/registry.js';

class AlphaJob extends Job<{ a: number }> {
  async handle() {}
}
class RenamedJob extends Job<{ a: number }> {
  static override readonly jobName = 'AlphaJob';
  async handle() {}
}
class StableNameJob extends Job<null> {
  static override readonly jobName = 'reports.monthly';
  async handle() {}
}

describe('JobRegistry', () => {
  it('finds job classes by their stable name, defaulting to the class name', () => {
    const registry = new JobRegistry().register(AlphaJob, StableNameJob);
    expect(registry.get('AlphaJob')).toBe(AlphaJob);
    expect(registry.get('reports.monthly')).toBe(StableNameJob);
    expect(registry.names()).toEqual(['AlphaJob', 'reports.monthly']);
  });

  it('names a subclass by its own class name, not the jobName of its parent', () => {
    class YearlyReportJob extends StableNameJob {}
    const registry = new JobRegistry().register(StableNameJob, YearlyReportJob);
    expect(registry.get('reports.monthly')).toBe(StableNameJob);
    expect(registry.get('YearlyReportJob')).toBe(YearlyReportJob);
  });

  it('refuses an unknown name with E_JOB_NOT_REGISTERED, listing the known ones', () => {
    const registry = new JobRegistry().register(AlphaJob);
    expect(() => registry.get('Object')).toThrow(JobNotRegisteredError);
    expect(() => registry.get('constructor')).toThrow(/known: AlphaJob/);
  });

  it('refuses two classes under one name', () => {
    expect(() => new JobRegistry().register(AlphaJob, RenamedJob)).toThrow(DuplicateJobNameError);
    expect(() => new JobRegistry().register(AlphaJob, AlphaJob)).not.toThrow();
  });

  it('checks class settings when a job is registered', () => {
    class BadTries extends Job<null> {
      static override readonly maxTries = 0;
      async handle() {}
    }
    class BadQueue extends Job<null> {
      static override readonly queue = 'has space';
      async handle() {}
    }
    class BadPriority extends Job<null> {
      static override readonly priority = 5000;
      async handle() {}
    }
    expect(() => new JobRegistry().register(BadTries)).toThrow(InvalidOptionError);
    expect(() => new JobRegistry().register(BadQueue)).toThrow(/queue name "has space"/);
    expect(() => new JobRegistry().register(BadPriority)).toThrow(/-1000/);
  });

  it('refuses a class maxTries above the bound a dispatch is held to, naming the class and the bound', () => {
    class EndlessJob extends Job<null> {
      static override readonly maxTries = MAX_TRIES + 1;
      async handle() {}
    }
    class MostTriesJob extends Job<null> {
      static override readonly maxTries = MAX_TRIES;
      async handle() {}
    }
    const register = () => new JobRegistry().register(EndlessJob);
    expect(register).toThrow(InvalidOptionError);
    expect(register).toThrow('EndlessJob.maxTries must be at most 1,000,000 tries; got 1000001');
    expect(() => new JobRegistry().register(MostTriesJob)).not.toThrow();
  });
});

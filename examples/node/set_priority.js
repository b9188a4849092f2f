// Watches a VRRP instance of vrrp-sidecar and sets its priority, in Node.js with @grpc/grpc-js
// and @grpc/proto-loader (npm install @grpc/grpc-js @grpc/proto-loader).
//
// It talks to the daemon over the API's Unix socket with grpc-js's defaults (nothing added to
// the client), loads the service from proto/ at run time (no generated code), opens a
// WatchState stream, waits for the snapshot, calls SetPriority and prints the priority change
// and, when the new priority moves mastership, the transition it causes:
//
//   node examples/node/set_priority.js /run/vrrp-sidecar/api.sock vi_1 200
//
// tests/api_clients.rs runs this file against the daemon.
'use strict';

const path = require('node:path');
const grpc = require('@grpc/grpc-js');
const protoLoader = require('@grpc/proto-loader');

const PROTO_ROOT = path.join(__dirname, '..', '..', 'proto');
// How long to wait for the snapshot and, after SetPriority, for its effects.
const WAIT_MS = 10_000;
// How long after the priority change a transition may still come: a backup preempts within
// its Master_Down_Interval (about 3.6 advert intervals) of the better advert.
const SETTLE_MS = 5_000;

function main() {
  const [socket, instance, priorityText] = process.argv.slice(2);
  const priority = Number(priorityText);
  if (!socket || !instance || !Number.isInteger(priority)) {
    console.error('usage: node set_priority.js SOCKET INSTANCE PRIORITY');
    process.exit(2);
  }
  // keepCase: the proto's field names as they are; oneofs: `kind` names the set member.
  const definition = protoLoader.loadSync(path.join(PROTO_ROOT, 'vrrp/v1/sidecar.proto'), {
    includeDirs: [PROTO_ROOT],
    keepCase: true,
    oneofs: true,
    enums: String,
    longs: String,
    defaults: true,
  });
  const { vrrp } = grpc.loadPackageDefinition(definition);
  const client = new vrrp.v1.Sidecar(`unix://${socket}`, grpc.credentials.createInsecure());

  let state = null;
  let done = false;
  const finish = (code, why) => {
    if (done) return;
    done = true;
    if (why) console.log(why);
    clearTimeout(deadline);
    watch.cancel();
    client.close();
    process.exitCode = code;
  };
  const deadline = setTimeout(() => finish(1, 'timed out'), WAIT_MS);

  const watch = client.WatchState({ instance_names: [instance] });
  watch.on('data', (message) => {
    switch (message.kind) {
      case 'snapshot':
        state = message.snapshot.instance.state;
        break;
      case 'snapshot_complete':
        console.log('watching', instance, state);
        client.SetPriority({ instance_name: instance, priority }, (error, response) => {
          if (error) {
            finish(1, `SetPriority failed: ${grpc.status[error.code]} ${error.details}`);
            return;
          }
          console.log('set', instance, response.instance.base_priority);
        });
        break;
      case 'priority_change': {
        const change = message.priority_change;
        console.log('priority', change.instance_name, change.base_priority, change.effective_priority);
        // A priority that does not move mastership has no transition to wait for.
        setTimeout(() => finish(0, 'no transition'), SETTLE_MS);
        break;
      }
      case 'transition': {
        const t = message.transition;
        console.log('transition', t.instance_name, t.from, t.to, t.reason);
        finish(0);
        break;
      }
      default:
        break;
    }
  });
  watch.on('error', (error) => {
    if (error.code !== grpc.status.CANCELLED) {
      finish(1, `WatchState failed: ${grpc.status[error.code]} ${error.details}`);
    }
  });
}

main();

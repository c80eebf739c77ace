// Routing: graph, pathfinding, routes, mission control, MPP split, payment lifecycle, keysend.

export * from './getroute.ts';
export * from './graph.ts';
export * from './graph-csv.ts';
export * from './keysend.ts';
export * from './mission-control.ts';
export * from './mpp.ts';
export * from './pathfind.ts';
export * from './payment.ts';
export * from './payment-records.ts';
export * from './route.ts';
export * from './route-finder.ts';
